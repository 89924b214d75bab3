"""Jurisdiction-scoped statistics: counts by org level and period, H3 hex bins, Gi* hot spots, exports.

`twin.stats.service` has the calls for one caller (statistic, hexbins, hotspots); `hexbins` and
`hotspots` the pure computation on counted points.
"""

from twin.stats.service import HotspotCache, Query, Result, statistic
from twin.stats.topics import TOPICS, Topic, topic

__all__ = ["TOPICS", "HotspotCache", "Query", "Result", "Topic", "statistic", "topic"]
