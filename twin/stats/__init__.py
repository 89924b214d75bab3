"""Jurisdiction-scoped statistics: counts by org level and period, H3 hex bins, Gi* hot spots, exports."""

from twin.stats.service import HotspotCache, Query, Result, hexbins, hotspots, statistic
from twin.stats.topics import TOPICS, Topic, topic

__all__ = ["TOPICS", "HotspotCache", "Query", "Result", "Topic", "hexbins", "hotspots", "statistic", "topic"]
