"""Engines, sessions, migrations and the private PostGIS cluster."""
