"""The pipes test world (sample campus LY01, sibling campus SB01 with a pipe of its own, users) reused
for 3D scenes: `client`, `login` and `db` come from tests/pipes/conftest.py."""

from __future__ import annotations

from tests.pipes.conftest import client, db, login, pipes_db

__all__ = ["client", "db", "login", "pipes_db"]
