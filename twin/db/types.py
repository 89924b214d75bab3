"""Column types the migrations and the models share."""

from __future__ import annotations

from typing import Any

from sqlalchemy.types import UserDefinedType


class LTree(UserDefinedType[str]):
    """PostgreSQL `ltree`: the org path ('41.4103.410311.4103110001') that scopes every school row."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "LTREE"


def _register_for_reflection() -> None:
    # Lets Alembic's comparison and reflection recognise the column type instead of warning.
    from sqlalchemy.dialects.postgresql.base import ischema_names

    ischema_names.setdefault("ltree", LTree)


_register_for_reflection()
