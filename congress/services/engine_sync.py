"""The policy engine's synchronisation with the database: the source of truth for policies.

Other engines' changes arrive as a ``policy_changed`` broadcast (and as the revision in
heartbeats); the engine then applies the logged changes since its own revision
(:meth:`DatabaseSync.catch_up`). A periodic full sync repairs anything missed; datasource
creations and deletions (``datasource_changed``) refresh the datasource policies.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from congress import exceptions
from congress.bus.service_ids import ENGINE
from congress.datalog.parser import parse_statements
from congress.datasources import registry
from congress.db import datasources as db_datasources
from congress.db import policies as db_policies
from congress.policy import kinds
from congress.policy.runtime import Update
from congress.services import metrics

LOG = logging.getLogger(__name__)


def schema_for_driver(driver: str) -> dict[str, list[Any]] | None:
    """Column names of a driver's tables, without a bus or DB (None: driver unknown here)."""
    try:
        return registry.schema_for(driver)
    except exceptions.CongressError:
        return None


class DatabaseSync:
    """Keeping the engine's Runtime equal to the database (a part of the engine service)."""

    # provided by PolicyEngineService
    node_ref: Any
    db: Any
    conf: Any
    rt: Any
    lock: Any

    def _sync_loop(self) -> None:
        period = float(self.conf.datasource_sync_period or 0)
        last_full = time.monotonic()
        while not self._stop.is_set():
            self._wake.wait(timeout=1.0)
            if self._stop.is_set():
                return
            woke = self._wake.is_set()
            self._wake.clear()
            try:
                if period and time.monotonic() - last_full >= period:
                    with self.lock:
                        self._full_sync()
                        self._update_subscriptions()
                    last_full = time.monotonic()
                elif woke or self._ds_dirty:
                    self.catch_up()
            except Exception:  # keep syncing; the next round retries
                LOG.exception("policy sync failed; retrying")

    def _on_peer(self, event: str, peer: Any) -> None:
        info = (getattr(peer, "service_info", None) or {}).get(ENGINE) or {}
        if info.get("policy_revision", 0) > self.policy_revision:
            self._wake.set()

    def policy_changed(self, revision: int = 0, origin: str | None = None) -> None:
        """Broadcast by an engine that committed a change."""
        if origin != self.node_id and revision > self.policy_revision:
            self._wake.set()

    def datasource_changed(self, name: str | None = None, op: str | None = None) -> None:
        """Broadcast by the datasource manager when a datasource is created or deleted."""
        self._ds_dirty = True
        self._wake.set()

    def refresh_datasources(self) -> None:
        """Load datasource changes now (the API node's engine, right after it created or
        deleted a datasource, so the answer and the next request agree)."""
        self._ds_dirty = True
        self.catch_up()

    def sync(self) -> dict[str, Any]:
        """Force a full re-sync with the database (operators, tests)."""
        with self.lock:
            self._full_sync()
            self._update_subscriptions()
        return self.status()

    def catch_up(self) -> None:
        with self.lock:
            if self._ds_dirty:
                self._ds_dirty = False
                with self.db.transaction(readonly=True) as conn:
                    self._sync_datasources(conn)
            changes = db_policies.changes_since(self.db, self.policy_revision)
            if not changes:
                self._update_subscriptions()
                return
            with self.db.transaction(readonly=True) as conn:
                self._apply_changes(conn, changes)
            self._update_subscriptions()

    def _apply_changes(self, conn: Any, changes: list[dict[str, Any]]) -> None:
        if changes[0]["revision"] != self.policy_revision + 1:
            LOG.info("change log does not reach back to revision %d: full sync",
                     self.policy_revision)
            self._full_sync(conn)
            return
        names = []
        for ch in changes:
            if ch["policy_name"] not in names:
                names.append(ch["policy_name"])
        for name in names:
            self._sync_policy(conn, name)
        self.policy_revision = changes[-1]["revision"]
        LOG.debug("applied changes up to revision %d (%s)", self.policy_revision, names)

    def _full_sync(self, conn: Any = None) -> None:
        if conn is None:
            with self.db.transaction(readonly=True) as c:
                return self._full_sync(c)
        revision = db_policies.current_revision(conn)
        self._sync_datasources(conn)
        db_pols = {p["name"]: p for p in db_policies.list_policies(conn)}
        for name, pol in list(self.rt.policies.items()):
            if pol.kind != kinds.DATASOURCE and name not in db_pols:
                self._drop_policy(name)
        for name in db_pols:
            self._sync_policy(conn, name, db_pols[name])
        self.policy_revision = max(self.policy_revision, revision)

    def _sync_datasources(self, conn: Any) -> None:
        rows = db_datasources.list_datasources(conn, decrypt=False)
        wanted = {d["name"]: d for d in rows}
        for name in list(self.datasources):
            if name not in wanted or wanted[name]["id"] != self.datasources[name]["id"]:
                self.datasources.pop(name)
                metrics.forget_datasource(name)
                if name in self.rt.policies and self.rt.policies[name].kind == kinds.DATASOURCE:
                    self._drop_policy(name)
                    LOG.info("datasource policy %s removed", name)
        for name, d in wanted.items():
            if name in self.datasources:
                continue
            schema = schema_for_driver(d["driver"]) or {}
            existing = self.rt.policies.get(name)
            if existing is not None and existing.kind != kinds.DATASOURCE:
                LOG.warning("datasource %s shadows a policy of the same name; not loaded", name)
                continue
            if existing is None:
                self.rt.create_datasource_policy(name, schema, id=d["id"])
            else:
                self.rt.set_schema(name, schema)
            self.datasources[name] = {"id": d["id"], "driver": d["driver"]}
            LOG.info("datasource policy %s (driver %s, %d tables) ready", name, d["driver"],
                     len(schema))

    def _drop_policy(self, name: str) -> None:
        system = self.rt.system_policies
        self.rt.system_policies = set()
        try:
            self.rt.delete_policy(name)
        finally:
            self.rt.system_policies = system

    def _sync_policy(self, conn: Any, name: str, db_pol: dict[str, Any] | None = None) -> None:
        """Make the Runtime's copy of one policy equal to the database's."""
        if db_pol is None:
            db_pol = db_policies.find_policy(conn, name)
            if db_pol is not None and db_pol["name"] != name:
                db_pol = None
        pol = self.rt.policies.get(name)
        if db_pol is None:
            if pol is not None and pol.kind != kinds.DATASOURCE:
                self._drop_policy(name)
            return
        if pol is not None and (pol.id != db_pol["id"] or pol.kind != db_pol["kind"]):
            self._drop_policy(name)
            pol = None
        if pol is None:
            pol = self.rt.create_policy(name, db_pol["kind"], id=db_pol["id"],
                                        abbreviation=db_pol["abbreviation"],
                                        description=db_pol["description"],
                                        owner=db_pol["owner_id"])
        pol.abbreviation = db_pol["abbreviation"]
        pol.description = db_pol["description"]
        db_rules = {r["id"]: r for r in db_policies.list_rules(conn, name)}
        extra = [rid for rid in pol.rules if rid not in db_rules]
        if extra:
            self.rt.delete_rules(name, extra)
        missing = [r for rid, r in db_rules.items() if rid not in pol.rules]
        if not missing:
            return
        try:
            self._insert_records(name, missing)
        except exceptions.PolicyError:
            # one bad stored rule must not keep the others out: insert one by one
            for r in missing:
                try:
                    self._insert_records(name, [r])
                except exceptions.PolicyError as e:
                    LOG.error("stored rule %s of policy %s is invalid and was not loaded: %s",
                              r["id"], name, e)

    def _insert_records(self, policy: str, rows: list[dict[str, Any]]) -> Update:
        items = []
        for r in rows:
            for stmt in parse_statements(r["rule"]):
                items.append((r["rule"], stmt))
        return self.rt.insert(policy, items, ids=[r["id"] for r in rows],
                              names=[r.get("name") for r in rows],
                              comments=[r.get("comment") for r in rows])

    def _ensure_default_policies(self) -> None:
        for name, kind, description in kinds.DEFAULT_POLICIES:
            if name in self.rt.policies:
                continue
            try:
                self._change(lambda conn, n=name, k=kind, d=description:
                             self._create_in_txn(conn, n, k, None, d, None))
                LOG.info("created system policy %s", name)
            except exceptions.PolicyExists:
                self.catch_up()
