"""The policy engine service (``__engine``): a Runtime kept in sync with the database and the bus.

The database is the source of truth for policies and rules. A change made through this engine is
written and applied in one step: inside the DB transaction (which takes the next policy revision
and holds the revision row lock until commit) the engine first applies every change other engines
committed before it, then applies its own to the Runtime (a rejected change rolls the
transaction back and leaves the Runtime untouched), then commits. Other engines hear a
``policy_changed`` broadcast (and see the revision in heartbeats) and apply the logged changes
since their own revision; a periodic full sync repairs anything missed.

Datasource tables referenced by rules are subscribed on the bus; snapshots and deltas are applied
to the Runtime. New rows of ``execute[...]`` tables are sent to the datasource's service as
action requests; the datasource side picks one engine (its leader) to obey.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from congress import exceptions
from congress.bus import Service, TableUpdate, engine_client
from congress.bus.service_ids import ENGINE
from congress.datalog.parser import parse_one, parse_statements
from congress.datasources import registry
from congress.db import api as db_api
from congress.db import datasources as db_datasources
from congress.db import library as db_library
from congress.db import policies as db_policies
from congress.policy import explain as policy_explain
from congress.policy import kinds, simulation
from congress.policy.runtime import Runtime, Update
from congress.services.results import FrozenResults

LOG = logging.getLogger(__name__)



def _schema_for(driver: str) -> dict[str, list[Any]] | None:
    """Column names of a driver's tables, without a bus or DB (None: driver unknown here)."""
    try:
        return registry.schema_for(driver)
    except exceptions.CongressError:
        return None


def rule_dict(rec: Any) -> dict[str, Any]:
    return {"id": rec.id, "name": rec.name, "comment": rec.comment or "", "rule": rec.text}


class PolicyEngineService(Service):
    rpc_methods = frozenset({
        "list_policies", "get_policy", "create_policy", "delete_policy",
        "list_rules", "get_rule", "insert_rule", "delete_rule",
        "list_tables", "get_table", "get_rows", "simulate", "execute_action", "explain",
        "status", "policy_changed", "datasource_changed", "action_rows", "sync",
        "refresh_datasources",
    })

    def __init__(self, node: Any, db: db_api.Database, conf: Any,
                 runtime: Runtime | None = None) -> None:
        super().__init__(ENGINE)
        self.node_ref = node
        self.db = db
        self.conf = conf
        self.rt = runtime or Runtime()
        self.lock = threading.RLock()
        self._applied = threading.Condition(self.lock)  # notified when data is applied
        self.policy_revision = 0
        self.data_seqnums: dict[tuple[str, str], tuple[str, int]] = {}
        self.datasources: dict[str, dict[str, Any]] = {}   # name -> {"id", "driver"}
        self.subscribed: set[tuple[str, str]] = set()
        self._rows_cache: dict[tuple[str, str], tuple[int, list[Any]]] = {}
        self._queue: list[_PendingChange] = []
        self._queue_lock = threading.Lock()
        self.started = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._ds_dirty = False
        self._thread: threading.Thread | None = None
        self._actions = ThreadPoolExecutor(max_workers=4, thread_name_prefix="actions")
        self.rt.action_listeners.append(self._on_actions)

    # ================================================================== lifecycle
    @property
    def node_id(self) -> str:
        return self.node_ref.node_id

    def start(self) -> None:
        t0 = time.monotonic()
        with self.lock:
            self._full_sync()
            self._ensure_default_policies()
            self._update_subscriptions()
            self.started = True
        LOG.info("policy engine ready on node %s: %d policies, %d rules, revision %d (%.2f s)",
                 self.node_id, len(self.rt.policies),
                 sum(len(p.rules) for p in self.rt.policies.values()), self.policy_revision,
                 time.monotonic() - t0)
        try:
            self.node_ref.add_peer_listener(self._on_peer)
        except AttributeError:  # pragma: no cover
            pass
        self._thread = threading.Thread(target=self._sync_loop, name="policy-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._actions.shutdown(wait=False, cancel_futures=True)

    def heartbeat_info(self) -> dict[str, Any]:
        return {"policy_revision": self.policy_revision, "data_revision": self.data_revision}

    @property
    def data_revision(self) -> int:
        return sum(seq for _, seq in self.data_seqnums.values())

    # ================================================================== sync with the DB
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
                if name in self.rt.policies and self.rt.policies[name].kind == kinds.DATASOURCE:
                    self._drop_policy(name)
                    LOG.info("datasource policy %s removed", name)
        for name, d in wanted.items():
            if name in self.datasources:
                continue
            schema = _schema_for(d["driver"]) or {}
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

    # ================================================================== changing policies
    def _change(self, apply: Any) -> Any:
        """Run ``apply(conn)`` in a DB transaction, under the engine lock, with catch-up.

        ``apply`` writes rows (taking revisions) and applies the same change to the Runtime,
        returning ``(result, undo)``. A failure rolls its part back and leaves the Runtime as it
        was; a failed commit runs ``undo``. Deadlocks are retried.

        Group commit: changes requested while another one is being written queue up, and the
        thread that gets the engine lock next writes all queued changes in one transaction
        (if one of them is refused, the batch is rolled back and its changes are written one
        by one, so the refused one gets its error and the others go through). Under
        concurrent writers this replaces one commit per change by one per batch.
        """
        item = _PendingChange(apply)
        with self._queue_lock:
            self._queue.append(item)
        attempts = 0
        while True:
            with self.lock:
                if not item.done:
                    with self._queue_lock:
                        batch, self._queue = self._queue, []
                    if batch:
                        retry = self._write_batch(batch)
                        if retry:
                            attempts += 1
                            if attempts > 5:
                                for it in retry:
                                    it.finish(error=retry[it])
                            else:
                                with self._queue_lock:
                                    self._queue[:0] = list(retry)
                                time.sleep(0.05 * attempts)
                                continue
            if item.done:
                break
        if item.error is not None:
            raise item.error
        if item.revision is not None:
            self._broadcast_change(item.revision)
        return item.result

    def _write_batch(self, batch: list[_PendingChange]) -> dict[_PendingChange, Exception]:
        """Write queued changes in one transaction; returns those to retry (deadlocks)."""
        undos: list[Any] = []
        applied: list[tuple[_PendingChange, Any]] = []
        try:
            with self.db.transaction() as conn:
                # changes other engines committed first (their revisions are lower); the row
                # lock keeps anyone else from committing until we are done
                if db_policies.lock_revision(conn) != self.policy_revision:
                    changes = db_policies.changes_since(conn, self.policy_revision)
                    if changes:
                        self._apply_changes(conn, changes)
                for item in batch:
                    try:
                        result, undo = item.apply(conn)
                    except (db_api.DBDeadlock, db_api.DBConnectionError):
                        raise
                    except Exception as e:
                        if len(batch) == 1:
                            raise
                        raise _BatchRejected() from e
                    undos.append(undo)
                    applied.append((item, result))
                revision = db_policies.current_revision(conn)
        except Exception as e:
            # nothing of the batch is committed: take its changes out of the Runtime
            for undo in reversed(undos):
                undo()
            pending = [item for item in batch if not item.done]
            if isinstance(e, _BatchRejected):
                # one change was refused: write each on its own, so the refused one gets its
                # error and the others go through
                retry: dict[_PendingChange, Exception] = {}
                for item in pending:
                    retry.update(self._write_batch([item]))
                return retry
            if isinstance(e, (db_api.DBDeadlock, db_api.DBConnectionError)):
                return dict.fromkeys(pending, e)
            for item in pending:
                item.finish(error=e)
            return {}
        self.policy_revision = max(self.policy_revision, revision)
        self._update_subscriptions()
        for item, result in applied:
            item.finish(result=result, revision=revision)
        return {}

    def _broadcast_change(self, revision: int) -> None:
        try:
            engine_client.announce_policy_change(self.node_ref, revision=revision,
                                                 origin=self.node_id)
        except Exception:  # peers catch up from heartbeats and the periodic sync
            LOG.warning("could not broadcast policy change %d", revision, exc_info=True)

    def _create_in_txn(self, conn: Any, name: str, kind: str | None, abbreviation: str | None,
                       description: str | None, rules: list[dict[str, Any]] | None) -> Any:
        kind = (kind or kinds.NONRECURSIVE).lower()
        if not kinds.valid_policy_name(name):
            raise exceptions.InvalidPolicyName(f"Policy name {name} is not a valid tablename")
        if kind == kinds.Z3:
            raise exceptions.UnknownPolicyKind("Z3 not available. Please install it")
        if kind not in kinds.CREATABLE:
            raise exceptions.UnknownPolicyKind(f"Unknown kind of policy: {kind}")
        if kind == kinds.DATASOURCE:
            # such a policy would be hidden like a datasource's (no GET, no DELETE) yet hold
            # its name; datasource policies come into being with their datasource
            raise exceptions.UnknownPolicyKind(
                "Policies of kind datasource cannot be created directly; create a datasource "
                "(POST /v1/data-sources) instead")
        existing = self.rt.policies.get(name)
        if existing is not None and existing.kind != kinds.DATASOURCE:
            raise exceptions.PolicyExists(f"Policy with name {name} already exists")
        if existing is not None or \
                db_datasources.find_datasource(conn, name, decrypt=False) is not None:
            raise exceptions.PolicyExists(f"Policy name {name} is already used by a datasource")
        dbp = db_policies.create_policy(conn, name, abbreviation=abbreviation,
                                        description=description or "", kind=kind)
        self.rt.create_policy(name, kind, id=dbp["id"], abbreviation=dbp["abbreviation"],
                              description=dbp["description"], owner=dbp["owner_id"])

        def undo() -> None:
            if name in self.rt.policies:
                self._drop_policy(name)

        out = dict(dbp)
        if rules is not None:
            out["rules"] = []
        if rules:
            try:
                items, ids = [], []
                for r in rules:
                    stmt = parse_one(r["rule"])
                    rid = str(uuid.uuid4())
                    items.append((r["rule"], stmt))
                    ids.append(rid)
                update = self.rt.insert(name, items, ids=ids,
                                        names=[r.get("name") for r in rules],
                                        comments=[r.get("comment") for r in rules])
            except Exception:
                undo()
                raise
            kept = {rec.id for rec in update.records}     # a repeated rule is stored once
            for r, rid in zip(rules, ids, strict=True):
                if rid in kept:
                    db_policies.insert_rule(conn, name, r["rule"],
                                            comment=r.get("comment") or "",
                                            name=r.get("name"), rule_id=rid)
            out["rules"] = [{"rule": rec.statement.pretty_str() if hasattr(
                rec.statement, "pretty_str") else str(rec.statement), "name": rec.name,
                "comment": rec.comment} for rec in update.records]
        return out, undo

    def _policy(self, policy: str, plain: bool = False) -> Any:
        """A policy by name or id.

        Unknown: PolicyNotFound (the original's 1020 ``policy_not_exist``, for rules, tables,
        rows) or, with ``plain``, a plain 404 (policy GET/DELETE answered ``Not Found::...``).
        """
        pol = self.rt.policies.get(policy)
        if pol is None:
            for p in list(self.rt.policies.values()):
                if p.id == policy:
                    pol = p
                    break
        if pol is None:
            cls = exceptions.NotFound if plain else exceptions.PolicyNotFound
            raise cls(f"No policy found with name or id {policy}")
        return pol

    # ================================================================== RPC: policies
    def list_policies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [p.to_dict() for p in self.rt.policies.values()
                    if p.kind != kinds.DATASOURCE]

    def get_policy(self, policy: str) -> dict[str, Any]:
        with self.lock:
            pol = self._policy(policy, plain=True)
            if pol.kind == kinds.DATASOURCE:
                raise exceptions.NotFound(f"No policy found with name or id {policy}")
            return pol.to_dict()

    def create_policy(self, name: Any = None, kind: Any = None, abbreviation: Any = None,
                      description: Any = None, rules: Any = None,
                      library_policy_id: Any = None) -> dict[str, Any]:
        if library_policy_id is not None:
            lp = db_library.get_library_policy(self.db, library_policy_id)
            name, kind = lp["name"], lp.get("kind")
            abbreviation, description = lp.get("abbreviation"), lp.get("description")
            rules = lp.get("rules") or []
        if not isinstance(name, str) or not name:
            raise exceptions.BadRequest("A name must be provided when creating a policy",
                                        code="policy_name_must_be_provided")
        for field, value in (("kind", kind), ("abbreviation", abbreviation),
                             ("description", description)):
            if value is not None and not isinstance(value, str):
                raise exceptions.BadRequest(f"Policy {field} must be a string")
        if rules is not None and (not isinstance(rules, list) or not all(
                isinstance(r, dict) and isinstance(r.get("rule"), str) for r in rules)):
            raise exceptions.BadRequest("rules must be a list of {\"rule\": <string>}")
        def create() -> Any:
            return self._change(lambda conn: self._create_in_txn(
                conn, name, kind, abbreviation, description, rules))
        result = self._retry_with_new_datasources(create)
        LOG.info("policy %s created (kind %s, %d rules)", name, result["kind"],
                 len(rules or []))
        return result

    def delete_policy(self, policy: str) -> dict[str, Any]:
        with self.lock:
            pol = self._policy(policy, plain=True)
            if pol.name in self.rt.system_policies:
                raise exceptions.SystemPolicyError(
                    f"Cannot delete system-maintained policy {pol.name}")
            if pol.kind == kinds.DATASOURCE:
                raise exceptions.NotFound(f"No policy found with name or id {policy}")
            name = pol.name

        def apply(conn: Any) -> Any:
            dbp = db_policies.delete_policy(conn, name)
            saved = self.rt.policies[name]
            records = list(saved.rules.values())
            self.rt.delete_policy(name)

            def undo() -> None:
                if name not in self.rt.policies:
                    self.rt.create_policy(name, saved.kind, id=saved.id,
                                          abbreviation=saved.abbreviation,
                                          description=saved.description, owner=saved.owner)
                    if records:
                        self.rt.insert(name, [(r.text, r.statement) for r in records],
                                       ids=[r.id for r in records],
                                       names=[r.name for r in records],
                                       comments=[r.comment for r in records])
            return dbp, undo

        result = self._change(apply)
        LOG.info("policy %s deleted", name)
        return result

    # ================================================================== RPC: rules
    def list_rules(self, policy: str) -> list[dict[str, Any]]:
        with self.lock:
            pol = self._policy(policy)
            return [rule_dict(r) for r in pol.rules.values()]

    def get_rule(self, policy: str, rule_id: str) -> dict[str, Any]:
        with self.lock:
            pol = self._policy(policy)
            rec = pol.rules.get(rule_id)
            if rec is None:
                raise exceptions.RuleNotFound(f"Rule {rule_id} not found in policy {pol.name}")
            return rule_dict(rec)

    def insert_rule(self, policy: str, rule: Any, name: Any = None,
                    comment: Any = None) -> dict[str, Any]:
        if not isinstance(rule, str):
            raise exceptions.BadRequest("rule must be a string")
        for field, value in (("name", name), ("comment", comment)):
            if value is not None and not isinstance(value, str):
                raise exceptions.BadRequest(f"rule {field} must be a string")
            if value is not None and len(value) > 255:
                raise exceptions.BadRequest(f"rule {field} must be at most 255 characters")
        stmt = parse_one(rule)
        # checked without the engine lock (so concurrent inserts queue for one group commit),
        # and again under it in apply()
        pname = self._rule_policy(policy).name
        rid = str(uuid.uuid4())

        def apply(conn: Any) -> Any:
            self._rule_policy(pname)
            update = self.rt.insert(pname, [(rule, stmt)], ids=[rid], names=[name],
                                    comments=[comment])
            rec = update.records[0]

            def undo() -> None:
                if rid in self.rt.policies.get(pname, _NO_POLICY).rules:
                    self.rt.delete_rules(pname, [rid])
            try:
                db_policies.insert_rule(conn, pname, rule, comment=comment or "", name=name,
                                        rule_id=rid)
            except Exception:
                undo()
                raise
            return {"id": rid, "name": name, "comment": comment or "",
                    "rule": rec.statement.pretty_str() if hasattr(rec.statement, "pretty_str")
                    else str(rec.statement)}, undo

        result = self._retry_with_new_datasources(lambda: self._change(apply))
        LOG.info("rule %s inserted into policy %s", rid, pname)
        return result

    def _retry_with_new_datasources(self, change: Any) -> Any:
        """``change()``; if it failed on an unknown datasource schema, re-read the datasources
        from the DB and try once more.

        A datasource created a moment ago (``POST /v1/data-sources`` answered) is announced to
        engines by a broadcast that may not have arrived yet; a rule using its named columns
        must not fail with "schema is unknown" meanwhile.
        """
        try:
            return change()
        except exceptions.PolicyError as e:
            errors = getattr(e, "errors", None) or [e]
            if not any(x.code == "incomplete_schema" for x in errors):
                raise
            with self.lock:
                with self.db.transaction(readonly=True) as conn:
                    self._sync_datasources(conn)
                self._update_subscriptions()
        return change()

    def _rule_policy(self, policy: str) -> Any:
        """The policy rules are changed in: it must exist and not be a datasource's."""
        pol = self._policy(policy)
        if pol.kind == kinds.DATASOURCE:
            raise exceptions.RuleNotPermitted(
                f"{pol.name} is a datasource policy: its tables are filled by the datasource")
        return pol

    def delete_rule(self, policy: str, rule_id: str) -> dict[str, Any]:
        pol = self._policy(policy)          # lock-free pre-check, as for insert_rule
        pname = pol.name
        if rule_id not in pol.rules:
            raise exceptions.RuleNotFound(f"Rule {rule_id} not found in policy {pname}")

        def apply(conn: Any) -> Any:
            dbr = db_policies.delete_rule(conn, rule_id, pname)
            rec = self.rt.delete_rule(pname, rule_id)

            def undo() -> None:
                if pname in self.rt.policies and rule_id not in self.rt.policies[pname].rules:
                    self.rt.insert(pname, [(rec.text, rec.statement)], ids=[rec.id],
                                   names=[rec.name], comments=[rec.comment])
            out = {k: dbr[k] for k in ("id", "name", "comment", "rule")}
            return out, undo

        result = self._change(apply)
        LOG.info("rule %s deleted from policy %s", rule_id, pname)
        return result

    # ================================================================== RPC: reading
    def list_tables(self, policy: str) -> list[str]:
        with self.lock:
            pol = self._policy(policy)
            return self.rt.tablenames(pol.name)

    def get_table(self, policy: str, table: str) -> dict[str, Any]:
        with self.lock:
            pol = self._policy(policy)
            if not self.rt.has_table(pol.name, table):
                raise exceptions.TableNotFound(f"table '{table}' doesn't exist")
            return {"id": table}

    def get_rows(self, policy: str, table: str, trace: bool = False) -> dict[str, Any]:
        with self.lock:
            pol = self._policy(policy)
            if trace:
                rows, text = policy_explain.trace_table(self.rt, pol.name, table)
                return {"results": [{"data": list(r)} for r in rows],
                        "trace": text or "Not available"}
            key = (pol.name, table)
            cached = self._rows_cache.get(key)
            if cached is not None and cached[0] == self.rt.revision:
                return {"results": cached[1]}
            rows = self.rt.select(pol.name, table)
            results = FrozenResults({"data": list(r)} for r in rows)
            if len(self._rows_cache) > 256:
                self._rows_cache.clear()
            # the same list object is returned while nothing changes: the API layer reuses
            # its encoded body (see congress.api.base.send_collection)
            self._rows_cache[key] = (self.rt.revision, results)
            return {"results": results}

    def simulate(self, policy: str, query: Any, sequence: Any, action_policy: Any,
                 delta: bool = False, trace: bool = False) -> dict[str, Any]:
        for field, value in (("query", query), ("sequence", sequence),
                             ("action_policy", action_policy)):
            if not isinstance(value, str):
                raise exceptions.SimulateError(f"{field} must be a string")
        with self.lock:
            try:
                pol = self._policy(policy)
            except exceptions.PolicyNotFound as e:
                raise exceptions.SimulateError(e.message) from e
            result, text = simulation.simulate(self.rt, pol.name, query, sequence,
                                                 action_policy, delta=delta, trace=trace)
        out: dict[str, Any] = {"result": result}
        if trace:
            out["trace"] = text or ""
        return out

    def explain(self, policy: str, atom: str) -> dict[str, Any]:
        with self.lock:
            pol = self._policy(policy)
            tree = policy_explain.explain(self.rt, pol.name, atom)
        return {"proof": tree, "text": policy_explain.explain_text(tree)}

    def status(self) -> dict[str, Any]:
        status = {"node_id": self.node_id, "policy_revision": self.policy_revision,
                  "data_revision": self.data_revision, "healthy": self.started,
                  "policies": len(self.rt.policies), "subscriptions": len(self.subscribed)}
        node = self.node
        if node is not None:
            # services on other nodes this node cannot reach (the healthcheck's "degraded")
            status["unavailable_services"] = node.unavailable_services()
        return status

    # ================================================================== data from datasources
    def _update_subscriptions(self) -> None:
        wanted = {k for k, users in self.rt.program.consumers.items()
                  if users and k[0] in self.datasources}
        for pub, table in sorted(wanted - self.subscribed):
            self.subscribed.add((pub, table))
            self.subscribe(pub, table)
            LOG.info("subscribed to %s:%s", pub, table)
        for pub, table in sorted(self.subscribed - wanted):
            self.subscribed.discard((pub, table))
            try:
                self.unsubscribe(pub, table)
            except Exception:  # publisher gone
                LOG.debug("unsubscribe %s:%s failed", pub, table, exc_info=True)
            self.data_seqnums.pop((pub, table), None)
            if pub in self.rt.policies:
                self.rt.replace_table(pub, table, [])
            LOG.info("unsubscribed from %s:%s", pub, table)

    def receive_data(self, publisher_id: str, table: str, update: TableUpdate) -> None:
        with self.lock:
            if publisher_id not in self.rt.policies:
                return
            try:
                if update.is_snapshot:
                    self.rt.replace_table(publisher_id, table, update.rows or (),
                                          normalize=False)
                else:
                    self.rt.apply_delta(publisher_id, table, update.added, update.removed,
                                        normalize=False)
            except exceptions.CongressError as e:
                LOG.error("data for %s:%s rejected: %s", publisher_id, table, e)
                return
            self.data_seqnums[(publisher_id, table)] = (update.incarnation, update.seqnum)
            self._applied.notify_all()
        LOG.debug("applied %s of %s:%s seq %d", "snapshot" if update.is_snapshot else "delta",
                  publisher_id, table, update.seqnum)

    def wait_applied(self, fence: dict[str, Any], timeout: float) -> bool:
        """Wait until this engine has applied a datasource's publications up to ``fence``
        (``publication_state()`` of the datasource, asked after a write); True once it has.

        Tables the engine does not subscribe to need nothing. A table seen in another
        incarnation of the publisher than the fence's is waited for until the engine is
        resynchronised with the fence's one. Never called with the engine lock held.
        """
        publisher = fence.get("publisher")
        incarnation = fence.get("incarnation")
        wanted = dict(fence.get("seqnums") or {})

        def applied() -> bool:
            for table, seqnum in wanted.items():
                if (publisher, table) not in self.subscribed:
                    continue
                have = self.data_seqnums.get((publisher, table))
                if have is None or have[0] != incarnation or have[1] < seqnum:
                    return False
            return True

        deadline = time.monotonic() + timeout
        node = self.node
        with self._applied:
            while True:
                remaining = deadline - time.monotonic()
                if self._applied.wait_for(applied, min(0.1, max(0.0, remaining))):
                    return True
                if remaining <= 0:
                    return False
                # the publisher died before sending what we wait for: stop holding the
                # caller's thread (an API request thread) for nothing
                if node is not None and publisher and node.service_problem(publisher):
                    return False

    # ================================================================== actions
    def _on_actions(self, update: Update) -> None:
        events = [("added", a) for a in update.actions_added] + \
                 [("removed", a) for a in update.actions_removed]
        if not events:
            return
        if not self.conf.enable_execute_action:
            for event, a in events:
                if event == "added":
                    LOG.info("action %s:%s%s not executed (enable_execute_action is False)",
                             a.service, a.action, list(a.args))
            return
        for event, a in events:
            self._actions.submit(self._send_action, event, a)

    def _send_action(self, event: str, a: Any) -> None:
        try:
            self.node_ref.cast(a.service, "request_execute", action=a.action,
                               args={"positional": list(a.args), "named": {}},
                               requested_by=self.node_id,
                               trigger={"policy": a.policy, "event": event,
                                        "row": list(a.args)})
            if event == "added":
                LOG.info("requested action %s:%s%s (policy %s)", a.service, a.action,
                         list(a.args), a.policy)
        except Exception as e:
            LOG.warning("could not request action %s:%s%s: %s", a.service, a.action,
                        list(a.args), e)

    def action_rows(self, service: str | None = None) -> list[dict[str, Any]]:
        """Current rows of execute[...] tables (for a datasource reconciling a new leader)."""
        with self.lock:
            return [{"policy": a.policy, "service": a.service, "action": a.action,
                     "row": list(a.args)} for a in self.rt.action_rows()
                    if service is None or a.service == service]

    def execute_action(self, service: Any, action: Any, args: Any = None,
                       requested_by: str | None = None) -> dict[str, Any]:
        if not isinstance(service, str) or not isinstance(action, str) or not action:
            raise exceptions.BadRequest("Incorrect action syntax. Requires: <service>:<action>",
                                        code="service_action_syntax")
        if not self.conf.enable_execute_action:
            LOG.info("execute %s:%s %s not run (enable_execute_action is False)", service,
                     action, args)
            return {}
        hosted = service in getattr(self.node_ref, "services", {}) or \
            bool(self.node_ref.nodes_for(service))
        if not hosted:
            raise exceptions.ActionError(f"Service {service} not found")
        self._actions.submit(self._send_execute, service, action, args or {},
                             requested_by or self.node_id)
        return {}

    def _send_execute(self, service: str, action: str, args: dict[str, Any],
                      requested_by: str) -> None:
        try:
            self.node_ref.cast(service, "request_execute", action=action, args=args,
                               requested_by=requested_by, trigger=None)
        except Exception as e:
            LOG.warning("could not request execute %s:%s: %s", service, action, e)


class _BatchRejected(Exception):
    """A change of a group commit failed: the batch is rolled back and written one by one."""


class _PendingChange:
    """One change waiting for (or written by) a group commit."""

    __slots__ = ("apply", "done", "result", "error", "revision")

    def __init__(self, apply: Any) -> None:
        self.apply = apply
        self.done = False
        self.result: Any = None
        self.error: Exception | None = None
        self.revision: int | None = None

    def finish(self, result: Any = None, error: Exception | None = None,
               revision: int | None = None) -> None:
        self.result, self.error, self.revision = result, error, revision
        self.done = True


class _NoPolicy:
    rules: dict[str, Any] = {}


_NO_POLICY = _NoPolicy()
