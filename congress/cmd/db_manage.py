"""``congress-db-manage``: create and upgrade the Congress database schema.

    congress-db-manage [--config-file F] upgrade [REVISION] [--sql]
    congress-db-manage [--config-file F] downgrade REVISION [--sql]
    congress-db-manage [--config-file F] current
    congress-db-manage [--config-file F] history
    congress-db-manage [--config-file F] stamp REVISION [--sql]
    congress-db-manage [--config-file F] revision -m MESSAGE [--autogenerate]

The database is the ``[database] connection`` option (default: SQLite under ``state_path``).
``congress-server`` upgrades the schema by itself at start; this tool is for doing it beforehand
(e.g. a MySQL database shared by several nodes) and for inspecting it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from oslo_config import cfg

from congress import exceptions
from congress.cmd import cli

LOG = logging.getLogger("congress.db_manage")

DESCRIPTION = """\
Manage the schema of the Congress database given by [database] connection (alembic
migrations). congress-server upgrades the schema by itself at start; this tool does it
beforehand (e.g. for a MySQL database several nodes share) and inspects it."""

EPILOG = """\
examples:
  congress-db-manage --config-file /etc/congress/congress.conf upgrade
  congress-db-manage --config-file /etc/congress/congress.conf current
  congress-db-manage --config-file /etc/congress/congress.conf upgrade head --sql
  congress-db-manage --config-file /etc/congress/congress.conf downgrade base

Run 'congress-db-manage COMMAND --help' for a command's own options."""


def _database(conf: cfg.ConfigOpts) -> Any:
    from congress.db.api import Database

    db = Database(conf.database.connection)
    LOG.info("Database: %s", db.safe_url)
    return db


def _do_upgrade(conf: cfg.ConfigOpts) -> int:
    from congress.db import migration

    rev = conf.command.revision
    if conf.command.sql:
        migration.upgrade(conf.database.connection, rev, sql=True)
        return 0
    db = _database(conf)
    try:
        before = migration.current(db)
        after = migration.upgrade(db, rev)
    finally:
        db.dispose()
    if before == after:
        LOG.info("Database already at %s; nothing to do", after)
    else:
        LOG.info("Upgraded database from %s to %s", before or "<empty>", after)
    return 0


def _do_downgrade(conf: cfg.ConfigOpts) -> int:
    from congress.db import migration

    rev = conf.command.revision
    if conf.command.sql:
        migration.downgrade(conf.database.connection, rev, sql=True)
        return 0
    db = _database(conf)
    try:
        after = migration.downgrade(db, rev)
    finally:
        db.dispose()
    LOG.info("Database now at %s", after or "<base>")
    return 0


def _do_current(conf: cfg.ConfigOpts) -> int:
    from congress.db import migration

    db = _database(conf)
    try:
        rev = migration.current(db)
    finally:
        db.dispose()
    if rev is None:
        print("None (empty database: run 'congress-db-manage upgrade head')")
    else:
        print(f"{rev} (head)" if rev == migration.head() else rev)
    return 0


def _do_history(conf: cfg.ConfigOpts) -> int:
    from congress.db import migration

    for line in migration.history():
        print(line)
    return 0


def _do_stamp(conf: cfg.ConfigOpts) -> int:
    from congress.db import migration

    rev = conf.command.revision
    if conf.command.sql:
        migration.stamp(conf.database.connection, rev, sql=True)
        return 0
    db = _database(conf)
    try:
        migration.stamp(db, rev)
    finally:
        db.dispose()
    return 0


def _do_revision(conf: cfg.ConfigOpts) -> int:
    from congress.db import migration

    if not conf.command.message:
        LOG.error("revision needs a message: -m MESSAGE")
        return 2
    if conf.command.autogenerate:
        db = _database(conf)
        try:
            path = migration.revision(db, conf.command.message, autogenerate=True)
        finally:
            db.dispose()
    else:
        path = migration.revision(conf.database.connection, conf.command.message)
    print(path)
    return 0


def _add_command_parsers(subparsers: Any) -> None:
    p = subparsers.add_parser("upgrade", help="Upgrade the schema (default: to head).")
    p.add_argument("revision", nargs="?", default="head",
                   help="Revision to upgrade to (default: head).")
    p.add_argument("--sql", action="store_true",
                   help="Print the SQL statements instead of running them.")
    p.set_defaults(func=_do_upgrade)

    p = subparsers.add_parser("downgrade", help="Downgrade the schema (base: drop all tables).")
    p.add_argument("revision", help="Revision to downgrade to.")
    p.add_argument("--sql", action="store_true",
                   help="Print the SQL statements instead of running them.")
    p.set_defaults(func=_do_downgrade)

    p = subparsers.add_parser("current", help="Print the revision the database is at.")
    p.set_defaults(func=_do_current)

    p = subparsers.add_parser("history", help="List the migrations, newest first.")
    p.set_defaults(func=_do_history)

    p = subparsers.add_parser("stamp",
                              help="Record a revision as current without running migrations.")
    p.add_argument("revision", help="Revision to record (e.g. head).")
    p.add_argument("--sql", action="store_true",
                   help="Print the SQL statements instead of running them.")
    p.set_defaults(func=_do_stamp)

    p = subparsers.add_parser("revision", help="Create a new migration script (developers).")
    p.add_argument("-m", "--message", help="What the migration does.")
    p.add_argument("--autogenerate", action="store_true",
                   help="Fill the script with the differences between the database (at "
                        "head) and congress/db/schema.py.")
    p.set_defaults(func=_do_revision)


command_opt = cfg.SubCommandOpt("command", title="Commands", dest="command",
                                help="Run 'congress-db-manage COMMAND --help' for details.",
                                handler=_add_command_parsers)


def _setup_logging(conf: cfg.ConfigOpts) -> None:
    level = logging.DEBUG if conf.debug else logging.INFO
    handler: logging.Handler
    if conf.log_file:
        handler = logging.FileHandler(conf.log_file)
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if not conf.debug:
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    conf = cli.new_conf()
    conf.register_cli_opt(command_opt)
    try:
        conf(args=sys.argv[1:] if argv is None else argv, project="congress",
             prog="congress-db-manage", description=DESCRIPTION, epilog=EPILOG)
    except cfg.Error as exc:
        print(f"congress-db-manage: {exc}", file=sys.stderr)
        return 2
    _setup_logging(conf)
    if conf.config_file:
        LOG.info("Configuration files: %s", ", ".join(conf.config_file))
    try:
        return conf.command.func(conf)
    except exceptions.CongressError as exc:
        LOG.error("%s", exc)
        return 1
    finally:
        conf.reset()


if __name__ == "__main__":
    sys.exit(main())
