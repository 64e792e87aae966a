"""Alembic migrations (a package so that an installed sip-engine can find them)."""
