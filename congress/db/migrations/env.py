"""Alembic environment of Congress.

``congress.db.migration`` runs alembic with a connection of its own (passed in
``config.attributes["connection"]``), already holding the schema lock; offline (``--sql``) runs
only need the URL. Run directly by the ``alembic`` tool, this file opens a
:class:`congress.db.api.Database` on ``sqlalchemy.url``.
"""

from alembic import context

from congress.db import schema

config = context.config

OPTIONS = {
    "target_metadata": schema.metadata,
    "compare_type": True,
    # SQLite cannot ALTER much: autogenerate batch operations (copy and move) there.
    "render_as_batch": True,
}


def run_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True,
                      **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def _run_with(connection) -> None:
    context.configure(connection=connection, **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_with(connection)
        return
    from congress.db.api import Database

    db = Database(config.get_main_option("sqlalchemy.url"))
    try:
        with db.migration_connection() as conn:
            _run_with(conn)
    finally:
        db.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
