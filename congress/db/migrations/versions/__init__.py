"""Alembic revision scripts (a package so that setuptools ships them as code)."""
