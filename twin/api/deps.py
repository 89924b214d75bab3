"""FastAPI dependencies shared by the routers; swap them in tests with app.dependency_overrides."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from twin.config import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine
    return engine


async def connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """One connection and one transaction per request: nothing is half stored."""
    async with get_engine(request).begin() as conn:
        yield conn
