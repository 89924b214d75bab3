"""Bus incidents of the geofences: offline, enter and exit beside overspeed, deviation and late.

Revision ID: 0016
Revises: 0014

0014 created `bus_incidents` for the statistics with the kinds the stats read; the bus tracking's
geofences also record a bus going silent and entering or leaving its campus.
"""

from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None

STATS_KINDS = ("overspeed", "deviation", "late")
KINDS = (*STATS_KINDS, "offline", "enter", "exit")
CHECK = "ck_bus_incidents_kind_known"


def upgrade() -> None:
    op.drop_constraint(op.f(CHECK), "bus_incidents", type_="check")
    op.create_check_constraint(op.f(CHECK), "bus_incidents", f"kind IN {KINDS}")


def downgrade() -> None:
    # The older constraint cannot hold the geofence kinds: those incidents go with this revision.
    op.execute(f"DELETE FROM bus_incidents WHERE kind NOT IN {STATS_KINDS}")
    op.drop_constraint(op.f(CHECK), "bus_incidents", type_="check")
    op.create_check_constraint(op.f(CHECK), "bus_incidents", f"kind IN {STATS_KINDS}")
