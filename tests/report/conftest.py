"""The phone report page's tests reuse the family tests' database, server helpers and browser."""

from __future__ import annotations

from tests.family.conftest import browser, live_db, live_template, running_server, sign_in

__all__ = ["browser", "live_db", "live_template", "running_server", "sign_in"]
