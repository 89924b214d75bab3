"""HTTP: the FastAPI app factory, routers that compose the domains, auth and problem+json errors."""

from twin.api.app import create_app

__all__ = ["create_app"]
