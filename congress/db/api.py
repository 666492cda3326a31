"""The database handle of Congress: engine, transactions, retries.

This package is the only code in Congress that talks to SQLAlchemy. Everything above it gets a
:class:`Database` and calls the repository modules (``congress.db.policies``, ``datasources``,
``tabledata``, ``library``, ``actions``), which take a connection and return plain dicts.

Typical use (the schema upgrade lives in :mod:`congress.db.migration`)::

    db = Database.from_conf(conf)      # [database] options
    migration.ensure_schema(db)        # alembic upgrade head (idempotent, safe on several nodes)
    with db.transaction() as conn:     # one transaction; commits on success, rolls back on error
        policies.create_policy(conn, "p")
        policies.insert_rule(conn, "p", "q(x) :- r(x)")
    db.run(policies.list_policies)     # fn(conn) in a transaction, retried on deadlock
    policies.list_policies(db)         # the same, shorter: repository functions accept a Database

SQLite (the single-node default) gets WAL, foreign keys, a busy timeout and ``BEGIN IMMEDIATE`` for
write transactions, so concurrent writers queue instead of failing; ``sqlite://`` (in memory, for
tests) uses one shared connection guarded by a lock. MySQL/MariaDB URLs get ``charset=utf8mb4``,
READ COMMITTED isolation (no gap locks: concurrent inserts of different names do not deadlock),
a pre-ping and pool recycling.

SQLAlchemy errors never leave this package raw: they become
:class:`~congress.exceptions.DatabaseError` (or its subclasses :class:`DBDeadlock` /
:class:`DBConnectionError`, which :func:`retrying` retries) with a message that names the driver
error but never the connection URL or its password.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy import pool as sa_pool
from sqlalchemy.engine import Connection, Engine, make_url

from congress import exceptions

LOG = logging.getLogger(__name__)

T = TypeVar("T")

SA_MAJOR = int(sa.__version__.split(".")[0])

#: Seconds a SQLite connection waits for a lock held by another connection.
SQLITE_BUSY_TIMEOUT = 30.0

# MySQL / MariaDB error numbers.
_MYSQL_DEADLOCK = {1205, 1213}  # lock wait timeout, deadlock
_MYSQL_LOST = {1053, 1927, 2002, 2003, 2006, 2013, 2055, 4031}  # shutdown, killed, gone ...
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


class DBDeadlock(exceptions.DatabaseError):
    """A deadlock, lock wait timeout or SQLite busy error: the transaction can be retried."""

    code = "db_deadlock"
    http_status = 503


class DBConnectionError(exceptions.DatabaseError):
    """The database could not be reached or the connection was lost: retriable."""

    code = "db_connection_error"
    http_status = 503


#: Errors that :func:`retrying` retries.
RETRIABLE = (DBDeadlock, DBConnectionError)

_URL_PASSWORD = re.compile(r"(\w[\w+.-]*://[^:/@\s]*:)[^@\s]*@")


def _sanitize(text: str, secrets: tuple[str, ...] = ()) -> str:
    text = _URL_PASSWORD.sub(r"\1***@", text)
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, "***")
    return text


def _driver_code(exc: sa_exc.DBAPIError) -> int | None:
    args = getattr(exc.orig, "args", None)
    if args and isinstance(args[0], int):
        return args[0]
    return None


def translate_error(exc: BaseException, secrets: tuple[str, ...] = ()) -> exceptions.CongressError:
    """Turn a SQLAlchemy/driver exception into a :class:`DatabaseError` (subclass).

    Congress errors pass through unchanged. The message keeps the driver's text (error number and
    description), never the SQL parameters, the URL or a password.
    """
    if isinstance(exc, exceptions.CongressError):
        return exc
    if isinstance(exc, sa_exc.DBAPIError):
        orig = exc.orig
        detail = _sanitize(f"{type(orig).__name__}: {orig}", secrets)
        code = _driver_code(exc)
        text = str(orig).lower()
        if exc.connection_invalidated or code in _MYSQL_LOST:
            return DBConnectionError(f"Database connection failed ({detail})")
        if code in _MYSQL_DEADLOCK or any(s in text for s in _SQLITE_BUSY):
            return DBDeadlock(f"Database deadlock or lock timeout ({detail})")
        return exceptions.DatabaseError(f"Database error ({detail})")
    if isinstance(exc, sa_exc.DisconnectionError):
        return DBConnectionError(f"Database connection failed ({_sanitize(str(exc), secrets)})")
    if isinstance(exc, sa_exc.TimeoutError):
        return exceptions.DatabaseError(
            "No database connection available (pool exhausted); try again later",
            http_status=503)
    return exceptions.DatabaseError(
        f"Database error ({type(exc).__name__}: {_sanitize(str(exc), secrets)})")


def retrying(fn: Callable[..., T], *, max_retries: int = 10, initial_delay: float = 0.1,
             max_delay: float = 2.0, sleep: Callable[[float], Any] = time.sleep
             ) -> Callable[..., T]:
    """Wrap ``fn`` so deadlocks and lost connections are retried.

    Up to ``max_retries`` retries, waiting 0.1 s, 0.2 s, 0.4 s ... at most 2 s between them.
    ``fn`` must run whole transactions (e.g. open one with :meth:`Database.transaction`): a retry
    re-runs it from the start, so it must not have effects outside the database that are not
    safe to repeat. Raw SQLAlchemy errors escaping ``fn`` are translated as by
    :func:`translate_error`.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        delay = initial_delay
        attempt = 0
        while True:
            try:
                return fn(*args, **kwargs)
            except (sa_exc.SQLAlchemyError, *RETRIABLE) as exc:
                err = translate_error(exc)
                if not isinstance(err, RETRIABLE) or attempt >= max_retries:
                    if err is exc:
                        raise
                    raise err from exc
                attempt += 1
                LOG.warning("%s; retrying in %.1f s (retry %d of %d)",
                            err, delay, attempt, max_retries)
                sleep(delay)
                delay = min(delay * 2, max_delay)

    return wrapper


class Database:
    """One database: an engine plus transactions, retries and schema management.

    Thread-safe: share one instance per process.
    """

    def __init__(self, url: str, *, max_pool_size: int = 10, max_overflow: int = 20,
                 pool_timeout: int = 10, max_retries: int = 10,
                 sqlite_busy_timeout: float = SQLITE_BUSY_TIMEOUT, echo: bool = False) -> None:
        try:
            parsed = make_url(url)
        except (sa_exc.ArgumentError, ValueError) as exc:
            raise exceptions.DatabaseError(
                "Invalid database connection URL (check [database] connection)") from exc
        self.max_retries = max_retries
        self.backend = parsed.get_backend_name()
        self._secrets = tuple(s for s in (parsed.password,) if s)
        self._lock: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        self._local = threading.local()  # transaction depth per thread
        kwargs: dict[str, Any] = {"echo": echo}
        if SA_MAJOR < 2:
            kwargs["future"] = True
        self.is_memory = False
        if self.backend == "sqlite":
            self.is_memory = _sqlite_is_memory(parsed)
            connect_args = {"check_same_thread": False, "timeout": sqlite_busy_timeout}
            kwargs["connect_args"] = connect_args
            if self.is_memory:
                # One connection shared by every thread: serialize its use.
                kwargs["poolclass"] = sa_pool.StaticPool
                self._lock = threading.RLock()
            else:
                _make_parent_dir(parsed.database)
                _create_private_file(parsed.database)
                kwargs.update(poolclass=sa_pool.QueuePool, pool_size=max_pool_size,
                              max_overflow=max_overflow, pool_timeout=pool_timeout)
        else:
            if self.backend in ("mysql", "mariadb") and "charset" not in parsed.query:
                parsed = parsed.update_query_dict({"charset": "utf8mb4"})
            kwargs.update(pool_size=max_pool_size, max_overflow=max_overflow,
                          pool_timeout=pool_timeout, pool_recycle=3600, pool_pre_ping=True)
            if self.backend in ("mysql", "mariadb"):
                kwargs["isolation_level"] = "READ COMMITTED"
        self.url = parsed
        try:
            self.engine: Engine = sa.create_engine(parsed, **kwargs)
        except (sa_exc.SQLAlchemyError, ImportError) as exc:
            raise exceptions.DatabaseError(
                f"Cannot use database URL {self.safe_url}: "
                f"{_sanitize(str(exc), self._secrets)}") from exc
        if self.backend == "sqlite":
            _install_sqlite_hooks(self.engine, wal=not self.is_memory,
                                  busy_timeout=sqlite_busy_timeout)
        self._readonly_engine = self.engine.execution_options(congress_readonly=True)
        LOG.debug("Database %s ready", self.safe_url)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_conf(cls, conf: Any) -> Database:
        """Build from the ``[database]`` options of an oslo.config ``ConfigOpts``.

        Also points :mod:`congress.db.crypto` at ``encryption_key_path`` (the key itself is made
        on first use).
        """
        from congress.db import crypto

        db = conf.database
        crypto.configure(conf.encryption_key_path)
        return cls(db.connection, max_pool_size=db.max_pool_size,
                   max_overflow=db.max_overflow, pool_timeout=db.pool_timeout,
                   max_retries=db.max_retries)

    @property
    def safe_url(self) -> str:
        """The URL with its password hidden, for logs and messages."""
        return self.url.render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"<Database {self.safe_url}>"

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    # ------------------------------------------------------------------ transactions
    @contextlib.contextmanager
    def transaction(self, readonly: bool = False) -> Iterator[Connection]:
        """A connection inside one transaction: commit on success, roll back on any error.

        ``readonly=True`` is a hint: on SQLite the transaction then starts deferred instead of
        taking the write lock up front. Do not open a transaction inside another one.
        SQLAlchemy errors come out translated (:func:`translate_error`); retries are the job of
        :meth:`run` / :meth:`retrying`, because a ``with`` block cannot be re-run.
        """
        engine = self._readonly_engine if readonly else self.engine
        depth = getattr(self._local, "depth", 0)
        if depth and self.backend == "sqlite" and (self.is_memory or not readonly):
            # The same connection (memory) or a second writer waiting for ourselves (file).
            raise exceptions.DatabaseError(
                "Nested database transaction on SQLite: pass the outer transaction's "
                "connection to the repository functions instead")
        with self._lock:
            self._local.depth = depth + 1
            try:
                with engine.connect() as conn, conn.begin():
                    yield conn
            except exceptions.CongressError:
                raise
            except sa_exc.SQLAlchemyError as exc:
                raise translate_error(exc, self._secrets) from exc
            finally:
                self._local.depth = depth

    def retrying(self, fn: Callable[..., T]) -> Callable[..., T]:
        """``fn`` wrapped by :func:`retrying` with this database's ``max_retries``."""
        return retrying(fn, max_retries=self.max_retries)

    def run(self, fn: Callable[..., T], *args: Any, readonly: bool = False, **kwargs: Any) -> T:
        """Call ``fn(conn, *args, **kwargs)`` in a transaction, retrying deadlocks."""

        def attempt() -> T:
            with self.transaction(readonly=readonly) as conn:
                return fn(conn, *args, **kwargs)

        return self.retrying(attempt)()

    # ------------------------------------------------------------------ schema
    @contextlib.contextmanager
    def migration_connection(self) -> Iterator[Connection]:
        """A connection for alembic, exclusive among nodes while schema changes run.

        SQLite: inside one ``BEGIN IMMEDIATE`` transaction (DDL is transactional there).
        MySQL: outside a transaction (alembic runs each migration in its own), under the named
        lock ``congress_schema`` so several nodes starting at once upgrade one after the other.
        """
        if self.backend == "sqlite":
            with self.transaction() as conn:
                yield conn
            return
        with self._lock:
            try:
                with self.engine.connect() as conn:
                    locked = self.backend in ("mysql", "mariadb")
                    if locked:
                        got = conn.execute(sa.text("SELECT GET_LOCK('congress_schema', 300)"))
                        if got.scalar() != 1:
                            raise exceptions.DatabaseError(
                                "Timed out waiting for another node's schema upgrade")
                    conn.commit()
                    try:
                        yield conn
                        if conn.in_transaction():
                            conn.commit()
                    except BaseException:
                        if conn.in_transaction():
                            conn.rollback()
                        raise
                    finally:
                        if locked:
                            conn.execute(sa.text("SELECT RELEASE_LOCK('congress_schema')"))
                            conn.commit()
            except exceptions.CongressError:
                raise
            except sa_exc.SQLAlchemyError as exc:
                raise translate_error(exc, self._secrets) from exc


def from_conf(conf: Any) -> Database:
    """Same as :meth:`Database.from_conf`."""
    return Database.from_conf(conf)


# ---------------------------------------------------------------------- repository helper
def connection_or_database(
        readonly: bool = False) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorator for repository functions whose first argument is a connection.

    Called with a :class:`Database` instead, the function runs in its own transaction through
    :meth:`Database.run` (so with retries); called with a connection, it joins the caller's
    transaction.
    """

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def wrapper(target: Any, *args: Any, **kwargs: Any) -> T:
            if isinstance(target, Database):
                return target.run(fn, *args, readonly=readonly, **kwargs)
            return fn(target, *args, **kwargs)

        return wrapper

    return decorate


# ---------------------------------------------------------------------- SQLite details
#: a bound value at least this long (characters or bytes) is big: see _install_sqlite_hooks
BIG_VALUE = 1 << 20

_CLOSE_AT_CHECKIN = "congress_close_at_checkin"


def _sqlite_is_memory(url: Any) -> bool:
    database = url.database
    if not database or database == ":memory:":
        return True
    return "mode=memory" in database or url.query.get("mode") == "memory"


def _make_parent_dir(path: str | None) -> None:
    if not path or path.startswith("file:"):
        return
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        LOG.info("Creating directory %s for the SQLite database", parent)
        os.makedirs(parent, mode=0o750, exist_ok=True)


#: mode of a SQLite database file Congress creates (SQLite gives its -wal, -shm and journal
#: files the database file's mode): datasource configs and pushed rows are not for everyone
SQLITE_FILE_MODE = 0o640


def _create_private_file(path: str | None) -> None:
    """Create the SQLite file ``path`` with :data:`SQLITE_FILE_MODE` (whatever the umask)
    before SQLite would create it with 0644; an existing file that others may read is
    reported."""
    if not path or path.startswith("file:"):
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SQLITE_FILE_MODE)
    except FileExistsError:
        mode = os.stat(path).st_mode & 0o777
        if mode & 0o007:
            LOG.warning("SQLite database %s is readable by every user (mode %o); "
                        "chmod o-rwx it", path, mode)
        return
    except OSError as exc:      # a read-only directory: SQLite reports the real problem
        LOG.debug("could not create %s: %s", path, exc)
        return
    try:
        os.fchmod(fd, SQLITE_FILE_MODE)     # the umask may have cleared less than wanted
    finally:
        os.close(fd)
    LOG.info("created SQLite database file %s (mode %o)", path, SQLITE_FILE_MODE)


def _install_sqlite_hooks(engine: Engine, *, wal: bool, busy_timeout: float) -> None:
    """Let SQLAlchemy, not pysqlite, decide where transactions begin (SQLAlchemy's recipe).

    pysqlite otherwise starts transactions lazily before the first write, so reads earlier in a
    transaction would not be part of it. Write transactions use ``BEGIN IMMEDIATE``: they take
    the write lock at once (waiting up to the busy timeout) instead of failing when a read
    lock must be upgraded.

    A file's connection that bound a big value (:data:`BIG_VALUE`: a pushed table's text, a
    big journal entry) is closed when it goes back to the pool, and the next use opens a new
    one. pysqlite keeps each connection's last 128 statements prepared, and SQLite keeps the
    values last bound to a statement until it runs again (a reset does not clear them): each
    pooled connection that had stored a 100k-row table held a copy of its 10 MB text (two
    after an insert) for as long as it lived. An in-memory database lives in its one
    connection, which stays.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if wal:
                try:
                    cursor.execute("PRAGMA journal_mode = WAL")
                    cursor.execute("PRAGMA synchronous = NORMAL")
                except Exception as exc:  # e.g. a read-only file system
                    LOG.warning("Cannot switch SQLite to WAL mode: %s", exc)
        finally:
            cursor.close()

    if wal:     # a file: its connections can be closed
        @event.listens_for(engine, "before_cursor_execute")
        def _on_execute(conn: Connection, _cursor: Any, _statement: str, parameters: Any,
                        _context: Any, executemany: bool) -> None:
            # the values that stay bound are the last set's
            last = parameters[-1] if executemany and parameters else parameters
            values = last.values() if isinstance(last, dict) else last or ()
            if any(isinstance(v, (str, bytes)) and len(v) >= BIG_VALUE for v in values):
                conn.info[_CLOSE_AT_CHECKIN] = True

        @event.listens_for(engine, "checkin")
        def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
            if record.info.pop(_CLOSE_AT_CHECKIN, False):
                record.invalidate()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        readonly = conn.get_execution_options().get("congress_readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")
