"""The policy engine service (``__engine``): a Runtime kept in sync with the database and the bus.

The database is the source of truth for policies and rules; every engine node holds the same
policies in its Runtime and answers the API's policy, rule and table calls from it. This module
has the service's lifecycle and those calls; the rest is in one module per concern:
:mod:`congress.services.engine_writes` (how a change is written and applied, group commits),
:mod:`congress.services.engine_sync` (catching up with other engines' changes),
:mod:`congress.services.engine_data` (datasource tables) and
:mod:`congress.services.engine_actions` (``execute[...]`` rows become action requests).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from congress import exceptions
from congress.bus import Service
from congress.bus.service_ids import ENGINE
from congress.datalog.parser import parse_one
from congress.db import api as db_api
from congress.db import datasources as db_datasources
from congress.db import library as db_library
from congress.db import policies as db_policies
from congress.policy import explain as policy_explain
from congress.policy import kinds, simulation
from congress.policy.runtime import Runtime
from congress.services import memory, metrics
from congress.services.engine_actions import ActionDispatch
from congress.services.engine_data import DatasourceData
from congress.services.engine_sync import DatabaseSync
from congress.services.engine_writes import ChangeWriter, PendingChange
from congress.services.results import FrozenResults

LOG = logging.getLogger(__name__)


def rule_dict(rec: Any) -> dict[str, Any]:
    return {"id": rec.id, "name": rec.name, "comment": rec.comment or "", "rule": rec.text}


class PolicyEngineService(DatabaseSync, ChangeWriter, DatasourceData, ActionDispatch, Service):
    """The engine service: lifecycle and the RPC methods of policies, rules and tables.

    Its other concerns live in the mixins it is made of, one per module: keeping in sync with
    the database (:mod:`.engine_sync`), writing changes (:mod:`.engine_writes`), datasource data
    (:mod:`.engine_data`) and actions (:mod:`.engine_actions`).
    """

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
        #: rows a table may derive after a policy change made through the API (0: no limit);
        #: policies loaded from the database are never refused
        self.max_derived_rows: int | None = getattr(conf, "max_derived_rows", 0) or None
        self.lock = threading.RLock()
        self._applied = threading.Condition(self.lock)  # notified when data is applied
        self.policy_revision = 0
        self.data_seqnums: dict[tuple[str, str], tuple[str, int]] = {}
        #: (datasource, table) whose last rows the engine refused (it holds none of them)
        self.refused_tables: set[tuple[str, str]] = set()
        self.datasources: dict[str, dict[str, Any]] = {}   # name -> {"id", "driver"}
        self.subscribed: set[tuple[str, str]] = set()
        #: datasource -> time.monotonic() of the last update applied (for /metrics)
        self.data_applied_at: dict[str, float] = {}
        metrics.track(self)
        #: (policy as asked, table) -> (Runtime, its revision, the rows' answer)
        self._rows_cache: dict[tuple[str, str], tuple[Runtime, int, list[Any]]] = {}
        self._queue: list[PendingChange] = []
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

    # ================================================================== policies and rules
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
                                        comments=[r.get("comment") for r in rules],
                                        max_derived_rows=self.max_derived_rows)
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

        Unknown: PolicyNotFound (error 1020 ``policy_not_exist``, as OpenStack Congress answers
        for rules, tables, rows) or, with ``plain``, a plain 404 (policy GET/DELETE answered
        ``Not Found::...``).
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
            self._rows_cache.clear()  # let the rows read from the policy go now

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
        memory.collect_garbage(f"deleting policy {name}")
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
                                    comments=[comment], max_derived_rows=self.max_derived_rows)
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
        key = (policy, table)
        if not trace:
            # An answer computed at the Runtime's current revision is returned without the
            # engine lock: a change in progress (e.g. a big datasource update being absorbed
            # under the lock) bumps the revision only once it is complete, so until then this
            # is the state before it, and a reader never waits for it nor sees it half-done.
            rt = self.rt
            cached = self._rows_cache.get(key)
            if cached is not None and cached[0] is rt and cached[1] == rt.revision:
                return {"results": cached[2]}
        with self.lock:
            pol = self._policy(policy)
            if trace:
                rows, text = policy_explain.trace_table(self.rt, pol.name, table)
                return {"results": [{"data": list(r)} for r in rows],
                        "trace": text or "Not available"}
            rt = self.rt
            cached = self._rows_cache.get(key)
            if cached is not None and cached[0] is rt and cached[1] == rt.revision:
                return {"results": cached[2]}
            revision = rt.revision
            rows = rt.select(pol.name, table)
            results = FrozenResults({"data": list(r)} for r in rows)
            if len(self._rows_cache) > 256 or any(
                    entry[1] != revision for entry in self._rows_cache.values()):
                # entries of an earlier revision are never returned again: keeping them
                # would hold every table ever read (with its encoded body) until 256 others
                # were, after the policy or datasource they belong to is long gone
                self._rows_cache.clear()
            # the same list object is returned while nothing changes: the API layer reuses
            # its encoded body (see congress.api.base.send_collection)
            self._rows_cache[key] = (rt, revision, results)
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
            result, text = simulation.simulate(
                self.rt, pol.name, query, sequence, action_policy, delta=delta, trace=trace,
                max_rows=self.max_derived_rows,
                max_seconds=getattr(self.conf, "max_simulate_seconds", 0) or None)
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


class _NoPolicy:
    rules: dict[str, Any] = {}


_NO_POLICY = _NoPolicy()
