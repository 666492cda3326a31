"""Concurrent policy changes: revisions are unique, gapless and in commit order.

8 threads each run transactions that insert rules (each insert bumps the revision) and bump the
revision once more directly, pausing inside the transaction to widen every race window. A watcher
reads the change log over and over: the revisions it sees committed must always be exactly
1..k, so no revision is ever committed after a higher one (commit order), none is missing (gapless)
and none repeats (unique).
"""

from __future__ import annotations

import random
import threading
import time

import pytest

from congress.db import api, migration, policies

pytestmark = pytest.mark.functional

THREADS = 8
TRANSACTIONS = 6  # per thread; each makes 3 changes


@pytest.fixture(params=["sqlite-file", "mariadb"])
def backend_db(request, tmp_path):
    if request.param == "sqlite-file":
        database = api.Database(f"sqlite:///{tmp_path / 'concurrency.sqlite'}")
        migration.ensure_schema(database)
        yield database
        database.dispose()
    else:
        yield request.getfixturevalue("db")  # the session's MariaDB database, emptied


def test_revisions_unique_gapless_in_commit_order(backend_db):
    db = backend_db
    for t in range(THREADS):
        policies.create_policy(db, f"p{t}")
    base = policies.current_revision(db)
    assert base == THREADS

    errors: list[BaseException] = []
    observations: list[list[int]] = []
    done = threading.Event()
    own_revisions: dict[int, list[int]] = {t: [] for t in range(THREADS)}

    def change(conn, t, i):
        r1 = policies.insert_rule(conn, f"p{t}", f"q({t}, {i}, 1)")
        time.sleep(random.uniform(0, 0.003))
        r2 = policies.insert_rule(conn, f"p{t}", f"q({t}, {i}, 2)")
        rev = policies.bump_revision(conn, f"p{t}", "insert_rule", r2["id"])
        time.sleep(random.uniform(0, 0.003))  # hold the counter lock a while before commit
        return r1, r2, rev

    def writer(t):
        try:
            for i in range(TRANSACTIONS):
                _, _, rev = db.run(change, t, i)
                own_revisions[t].append(rev)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def watcher():
        try:
            while not done.is_set():
                seen = [c["revision"] for c in policies.changes_since(db, base)]
                observations.append(seen)
                time.sleep(0.001)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    watch = threading.Thread(target=watcher)
    watch.start()
    writers = [threading.Thread(target=writer, args=(t,)) for t in range(THREADS)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    done.set()
    watch.join()
    assert errors == []

    total = THREADS * TRANSACTIONS * 3
    final = policies.changes_since(db, base)
    assert [c["revision"] for c in final] == list(range(base + 1, base + total + 1))
    assert policies.current_revision(db) == base + total
    # every observation during the run was a gapless prefix: commits happened in revision order
    assert len(observations) > 5
    for seen in observations:
        assert seen == list(range(base + 1, base + 1 + len(seen)))
    # each transaction's three changes got consecutive revisions
    by_rev = {c["revision"]: c for c in final}
    for t, revs in own_revisions.items():
        assert len(revs) == TRANSACTIONS and revs == sorted(revs)
        for rev in revs:
            assert [by_rev[rev - k]["policy_name"] for k in range(3)] == [f"p{t}"] * 3
    rule_ids = {r["id"] for r in policies.list_rules(db)}
    assert len(rule_ids) == THREADS * TRANSACTIONS * 2
    logged = {c["object_id"] for c in final}
    assert rule_ids <= logged


def test_concurrent_creates_and_deletes(backend_db):
    """Threads creating and deleting different objects all succeed (deadlocks are retried)."""
    from congress.db import datasources, library

    db = backend_db
    errors: list[BaseException] = []

    def worker(t):
        try:
            for i in range(6):
                policies.create_policy(db, f"p{t}_{i}")
                library.create_library_policy(db, {"name": f"l{t}_{i}", "rules": []})
                datasources.create_datasource(db, f"d{t}_{i}", "fake")
                if i % 2:
                    policies.delete_policy(db, f"p{t}_{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert len(policies.list_policies(db)) == THREADS * 3
    assert len(library.list_library_policies(db)) == THREADS * 6
    assert len(datasources.list_datasources(db)) == THREADS * 6
    assert policies.current_revision(db) == THREADS * 9
    assert [c["revision"] for c in policies.changes_since(db, 0)] == list(
        range(1, THREADS * 9 + 1))


def test_mysql_sessions_use_read_committed(db):
    with db.transaction() as conn:
        assert conn.get_isolation_level() == "READ COMMITTED"
        charset = conn.exec_driver_sql("SELECT @@character_set_connection").scalar()
        assert charset == "utf8mb4"
