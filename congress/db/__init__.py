"""Persistence: the only code in Congress that talks to SQLAlchemy.

* :mod:`congress.db.api` — :class:`~congress.db.api.Database` (engine, transactions, retries);
* :mod:`congress.db.schema` — the tables (SQLAlchemy Core, runs on SQLAlchemy 1.4 and 2.x);
* repositories taking a connection (or a Database) and returning plain dicts:
  :mod:`~congress.db.policies` (policies, rules, revision log), :mod:`~congress.db.datasources`,
  :mod:`~congress.db.tabledata`, :mod:`~congress.db.library`, :mod:`~congress.db.actions`;
* :mod:`congress.db.crypto` — Fernet encryption of datasource secrets;
* :mod:`congress.db.migration` and ``congress/db/migrations`` — alembic, used by
  ``congress-db-manage`` and at server start.
"""
