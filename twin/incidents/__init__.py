"""Bullying and violence incidents (校园欺凌): reports at a place, follow-up with a record, hot spots.

`report` an incident (a point, or a building and floor, with a kind of place), `move` it through the
follow-up steps of incidents.yaml, read a `listing` (no people) or a `detail` (people by part, ids where
known; safety staff, leaders and admins only), and `summarise` where incidents gather (H3 + Gi*).
"""

from twin.incidents.catalogue import Catalogue, catalogue
from twin.incidents.hotspots import summarise
from twin.incidents.reports import IncidentReport, Involved, Step, detail, listing, move, report

__all__ = [
    "Catalogue",
    "IncidentReport",
    "Involved",
    "Step",
    "catalogue",
    "detail",
    "listing",
    "move",
    "report",
    "summarise",
]
