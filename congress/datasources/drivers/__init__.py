"""Datasource drivers, one module each (see congress.datasources.registry)."""
