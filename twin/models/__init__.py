"""ORM tables (GeoAlchemy2). Storage CRS EPSG:4326; heights and depths in metres as attributes."""

from twin.models.access import AuditEntry, User, WriteGrant
from twin.models.activities import BusIncident, Drill, EducationSession
from twin.models.base import Base
from twin.models.campus import Building, Campus, CampusRaster, Ground
from twin.models.family import AccessCredential, ClassStudent, Gate, GateEvent, GateTerminal, SchoolClass
from twin.models.hazards import (
    Escalation,
    HazardNumber,
    HazardPhoto,
    HazardTransition,
    InspectionPlan,
    Notification,
)
from twin.models.incidents import Incident, IncidentTransition
from twin.models.live import (
    Alert,
    AlertEvent,
    AlertTimer,
    BusFenceState,
    BusRoute,
    BusStop,
    BusTrip,
    LiveEvent,
    Position,
    Sensor,
    Vehicle,
)
from twin.models.org import Guardian, OrgUnit, Person
from twin.models.patrols import (
    PatrolCheck,
    PatrolCheckpoint,
    PatrolDevice,
    PatrolRoute,
    PatrolSchedule,
    PatrolVisit,
)
from twin.models.pipes import ExcavationPlan, PipeNode, PipeSegment, ServiceConnection, Valve
from twin.models.requests import HazardRequest
from twin.models.risk import Hazard, Inspection, RiskPoint, RiskZone
from twin.models.riskmap import RiskRollup, RiskScale
from twin.models.stats import SUMMARY_TABLES
from twin.models.versions import FeatureVersion

__all__ = [
    "SUMMARY_TABLES",
    "AccessCredential",
    "Alert",
    "AlertEvent",
    "AlertTimer",
    "AuditEntry",
    "Base",
    "Building",
    "BusFenceState",
    "BusIncident",
    "BusRoute",
    "BusStop",
    "BusTrip",
    "Campus",
    "CampusRaster",
    "ClassStudent",
    "Drill",
    "EducationSession",
    "Escalation",
    "ExcavationPlan",
    "FeatureVersion",
    "Gate",
    "GateEvent",
    "GateTerminal",
    "Ground",
    "Guardian",
    "Hazard",
    "HazardNumber",
    "HazardPhoto",
    "HazardRequest",
    "HazardTransition",
    "Incident",
    "IncidentTransition",
    "Inspection",
    "InspectionPlan",
    "LiveEvent",
    "Notification",
    "OrgUnit",
    "PatrolCheck",
    "PatrolCheckpoint",
    "PatrolDevice",
    "PatrolRoute",
    "PatrolSchedule",
    "PatrolVisit",
    "Person",
    "PipeNode",
    "PipeSegment",
    "Position",
    "RiskPoint",
    "RiskRollup",
    "RiskScale",
    "RiskZone",
    "SchoolClass",
    "Sensor",
    "ServiceConnection",
    "User",
    "Valve",
    "Vehicle",
    "WriteGrant",
]
