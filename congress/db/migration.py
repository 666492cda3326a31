"""Schema migrations (alembic), for ``congress-db-manage`` and for the server's start.

The scripts live in ``congress/db/migrations``; alembic is driven from here without an ini
file. Functions take a database URL or a :class:`~congress.db.api.Database`. Online upgrades
hold a lock (MySQL ``GET_LOCK``, SQLite ``BEGIN IMMEDIATE``) so several nodes starting at once
upgrade one after the other.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from congress import exceptions
from congress.db import schema
from congress.db.api import Database

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

# alembic (with mako and pygments, a third of a second) is imported only when a migration
# runs or the scripts are walked: a server starting on a database already at the head only
# reads alembic_version and the revision ids of the scripts (see upgrade()).

LOG = logging.getLogger(__name__)

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")


def alembic_config(url: str | None = None, connection: Any = None) -> Config:
    """An alembic ``Config`` for Congress' scripts (and the URL or connection to use)."""
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS_DIR)
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def script_directory() -> ScriptDirectory:
    from alembic.script import ScriptDirectory
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The newest revision of the scripts."""
    rev = script_directory().get_current_head()
    assert rev is not None
    return rev


_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(.*)$", re.M)


def script_head() -> str | None:
    """:func:`head` from the ``revision``/``down_revision`` lines of the scripts, without
    alembic: the one revision no other script names as its parent; None when that is not
    one plain chain of literal ids (then ask alembic)."""
    versions = os.path.join(MIGRATIONS_DIR, "versions")
    revisions, parents = set(), set()
    for name in os.listdir(versions):
        if not name.endswith(".py") or name.startswith("__"):
            continue
        with open(os.path.join(versions, name), encoding="utf-8") as f:
            found = dict((k, v.strip()) for k, v in _REVISION_LINE.findall(f.read()))
        rev, down = found.get("revision", ""), found.get("down_revision", "")
        if not re.fullmatch(r"['\"]\w+['\"]", rev) or not re.fullmatch(
                r"None|['\"]\w+['\"]", down):
            return None
        revisions.add(rev[1:-1])
        if down != "None":
            parents.add(down[1:-1])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def history() -> list[str]:
    """One line per revision, newest first: ``<down> -> <rev> [(head)], <message>``."""
    lines = []
    for script in script_directory().walk_revisions():
        down = script.down_revision or "<base>"
        if isinstance(down, tuple):
            down = ", ".join(down)
        mark = " (head)" if script.is_head else ""
        lines.append(f"{down} -> {script.revision}{mark}, {script.doc}")
    return lines


@contextlib.contextmanager
def _database(target: str | Database) -> Iterator[Database]:
    if isinstance(target, Database):
        yield target
        return
    db = Database(target)
    try:
        yield db
    finally:
        db.dispose()


def _url_text(target: str | Database) -> str:
    if isinstance(target, Database):
        return target.url.render_as_string(hide_password=False)
    return target


@contextlib.contextmanager
def _alembic_errors(what: str) -> Iterator[None]:
    """Alembic's own errors (unknown revision, several heads ...) as DatabaseError."""
    from alembic.util import CommandError
    try:
        yield
    except CommandError as exc:
        raise exceptions.DatabaseError(f"Cannot {what}: {exc}") from exc


def current(target: str | Database) -> str | None:
    """The revision the database is at; None for a database without Congress tables."""
    with _database(target) as db, db.transaction(readonly=True) as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        versions = [row[0] for row in conn.execute(sa.text(
            "SELECT version_num FROM alembic_version"))]
        if len(versions) <= 1:
            return versions[0] if versions else None
        from alembic.runtime.migration import MigrationContext
        return MigrationContext.configure(conn).get_current_revision()  # raises: several heads


def ensure_schema(db: Database) -> str | None:
    """Upgrade ``db`` to the newest revision (alembic ``upgrade head``); idempotent and safe on
    several nodes at once. Returns the revision the database is at afterwards. A database that
    cannot be reached yet (e.g. starting at the same time) is retried like any lost connection.
    """
    return db.retrying(upgrade)(db, "head")


def upgrade(target: str | Database, revision: str = "head", *, sql: bool = False
            ) -> str | None:
    """Upgrade to ``revision``; returns the revision reached.

    ``sql=True`` only prints the SQL (offline mode; nothing is executed) and returns None.
    """
    if sql:
        from alembic import command
        with _alembic_errors("upgrade the database schema"):
            command.upgrade(alembic_config(_url_text(target)), revision, sql=True)
        return None
    with _database(target) as db:
        before = current(db)
        if revision == "head" and before is not None and before == (script_head() or head()):
            LOG.debug("Database %s is at head %s", db.safe_url, before)
            return before
        if revision == "head" and before is None and _create_at_head(db):
            after = current(db)
            LOG.info("Created the schema of database %s at %s", db.safe_url, after)
            return after
        from alembic import command
        with _alembic_errors("upgrade the database schema"), \
                db.migration_connection() as conn:
            command.upgrade(alembic_config(connection=conn), revision)
        after = current(db)
        if after != before:
            LOG.info("Upgraded database %s from %s to %s", db.safe_url, before or "<empty>",
                     after)
        return after


def _create_at_head(db: Database) -> bool:
    """Create the schema of an empty database straight from ``congress.db.schema`` and stamp
    it at the scripts' head, without alembic (a third of a second of imports at a first
    start). False, with nothing done, when the head cannot be read off the scripts or the
    database already holds a table of Congress (then the migrations run as usual).

    This is the same schema the migrations build: ``schema_differences`` is empty for both,
    and the tests compare the two table by table (columns, keys, indexes, seeded rows).
    """
    revision = script_head()
    if revision is None:
        return False
    with db.migration_connection() as conn:
        existing = set(sa.inspect(conn).get_table_names())
        if existing & (set(schema.metadata.tables) | {"alembic_version"}):
            return False
        schema.metadata.create_all(conn)
        # what the migrations seed: the revision counter's one row
        conn.execute(schema.policy_revision.insert().values(
            id=schema.REVISION_ROW_ID, value=0))
        version = sa.Table(
            "alembic_version", sa.MetaData(),
            sa.Column("version_num", sa.String(32), nullable=False),
            sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))
        version.create(conn)
        conn.execute(version.insert().values(version_num=revision))
    return True


def downgrade(target: str | Database, revision: str, *, sql: bool = False) -> str | None:
    """Downgrade to ``revision`` (``base``: drop everything); returns the revision reached."""
    from alembic import command
    if sql:
        with _alembic_errors("downgrade the database schema"):
            command.downgrade(alembic_config(_url_text(target)), revision, sql=True)
        return None
    with _database(target) as db:
        before = current(db)
        with _alembic_errors("downgrade the database schema"), \
                db.migration_connection() as conn:
            command.downgrade(alembic_config(connection=conn), revision)
        after = current(db)
        LOG.info("Downgraded database %s from %s to %s", db.safe_url, before, after or "<base>")
        return after


def stamp(target: str | Database, revision: str, *, sql: bool = False) -> str | None:
    """Record ``revision`` as the database's revision without running migrations."""
    from alembic import command
    if sql:
        with _alembic_errors("stamp the database"):
            command.stamp(alembic_config(_url_text(target)), revision, sql=True)
        return None
    with _database(target) as db:
        with _alembic_errors("stamp the database"), db.migration_connection() as conn:
            command.stamp(alembic_config(connection=conn), revision)
        after = current(db)
        LOG.info("Stamped database %s with revision %s", db.safe_url, after)
        return after


def revision(target: str | Database, message: str, autogenerate: bool = False) -> str:
    """Write a new migration script into ``congress/db/migrations/versions``; returns its path.

    With ``autogenerate`` the script holds the difference between the database (which should be
    at head) and ``congress.db.schema``.
    """
    from alembic import command
    if not autogenerate:
        with _alembic_errors("create a migration script"):
            script = command.revision(alembic_config(), message=message)
    else:
        with _alembic_errors("create a migration script"), _database(target) as db, \
                db.migration_connection() as conn:
            script = command.revision(alembic_config(connection=conn), message=message,
                                      autogenerate=True)
    if isinstance(script, list):  # several heads: alembic returns one script per head
        script = script[0]
    assert script is not None
    LOG.info("Wrote migration script %s", script.path)
    return script.path


def schema_differences(target: str | Database) -> list[Any]:
    """Differences between the database and ``congress.db.schema`` (empty: in step)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    with _database(target) as db, db.transaction(readonly=True) as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return [d for d in compare_metadata(ctx, schema.metadata)
                if not _is_alembic_table(d)]


def _is_alembic_table(diff: Any) -> bool:
    if isinstance(diff, tuple) and diff and diff[0] == "remove_table":
        return diff[1].name == "alembic_version"
    return False
