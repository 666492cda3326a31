"""Actions of datasource drivers: listing, executing, logging, and the local leader.

Listing. A driver's actions are its wrapper actions (``ACTIONS``: a method of the driver taking
the args dict) plus the methods of its action client (``ACTION_CLIENT``, a class of
:class:`ActionClient` whose :class:`namespace` attributes group methods: ``servers.pause``),
found by introspection: the argument names come from the signature, the descriptions from the
docstring (first paragraph; ``:param x: ...`` lines). Methods whose docstring says
``DEPRECATED:`` are left out (they are not offered as actions).

Executing (:meth:`ActionExecutor.execute`): ``args`` is ``{"positional": [...], "named": {...}}``;
a wrapper gets the whole dict, a client method is called as ``fn(*positional, **named)``.
Failures become :class:`~congress.exceptions.ActionError` naming the driver, action and args.

Requests (:meth:`ActionExecutor.request`, the ``request_execute`` RPC):

* without ``trigger`` (the API or an operator asked): executed at once and logged in the
  action log (who asked, args, outcome, time); a failure is returned to the caller;
* with ``trigger = {"policy", "event": "added"|"removed", "row"}`` (a policy engine's
  ``execute[...]`` row appeared or disappeared): only the *leader* policy engine's requests count
  (doc/architecture.md#multi-node-design): the first PE node heard from, or a PE on this node if one
  is alive. The leader is dropped when its node is lost (heartbeat timeout), restarts, or stops
  hosting a PE; the next PE heard from takes over. Requests are handled in order on one worker
  thread.

De-duplication. Each trigger has a stable key, the hash of (datasource id, policy, action, row).
A row is *active* from its execution until the leader reports it removed. In the action log an
activation is the entry claimed under ``<key>:<n>`` (:func:`congress.db.actions.claim`, so two
nodes never both execute it) and its end is an entry ``<key>:<n>:off`` (status ``skipped``,
result ``{"event": "removed"}``); ``n`` counts how often the row became active. "added" executes
only if the row is not active; "removed" ends the activation. When a leader is chosen the
executor asks it for the rows it considers active (``__engine.action_rows(service=<name>)``) and
reconciles: rows active there but not here are executed, rows active here but not there end.
So each change executes once, across leader changes, PE restarts and datasource restarts.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import queue
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from congress import exceptions
from congress.bus import current_caller
from congress.bus.engine_client import ENGINE, EngineClient

if TYPE_CHECKING:
    from congress.bus import Peer

LOG = logging.getLogger(__name__)

_KEY_RE = re.compile(r"^([0-9a-f]{40}):(\d+)(:off)?$")
_PARAM_RE = re.compile(r"^\s*:param\s+(?:\S+\s+)?(\*{0,2}\w+):\s*(.*)$")


# =========================================================================== client facades
class namespace:  # noqa: N801  (used like a decorator-ish marker on classes)
    """Marks a nested facade class: ``servers = namespace(Servers)`` gives ``servers.pause``."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        cache = obj.__dict__.setdefault("_namespaces", {})
        inst = cache.get(self.name)
        if inst is None:
            inst = cache[self.name] = self.cls(obj.driver)
        return inst


class ActionClient:
    """Base of action facades: public methods are actions; ``namespace`` attributes nest."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver


def _describe(fn: Callable[..., Any]) -> tuple[str, dict[str, str]] | None:
    doc = inspect.getdoc(fn) or ""
    if "DEPRECATED:" in doc:
        return None
    paragraphs = [p for p in doc.split("\n\n") if p.strip()]
    first = " ".join(paragraphs[0].split()) if paragraphs and not paragraphs[0].lstrip(
        ).startswith(":param") else ""
    params: dict[str, str] = {}
    for line in doc.splitlines():
        m = _PARAM_RE.match(line)
        if m:
            params[m.group(1).lstrip("*")] = m.group(2).strip()
    return first, params


def introspect(client_cls: type | None, prefix: str = "") -> dict[str, dict[str, Any]]:
    """``{dotted name: {"name", "args", "description"}}`` of a facade class."""
    out: dict[str, dict[str, Any]] = {}
    if client_cls is None:
        return out
    for attr in sorted(dir(client_cls)):
        if attr.startswith("_"):
            continue
        value = inspect.getattr_static(client_cls, attr)
        if isinstance(value, namespace):
            out.update(introspect(value.cls, f"{prefix}{attr}."))
            continue
        if not inspect.isfunction(value):
            continue
        described = _describe(value)
        if described is None:
            continue
        description, params = described
        args = []
        for pname, p in list(inspect.signature(value).parameters.items())[1:]:
            label = pname
            if p.kind is p.VAR_POSITIONAL:
                label = "*" + pname
            elif p.kind is p.VAR_KEYWORD:
                label = "**" + pname
            args.append({"name": label, "description": params.get(pname, "")})
        name = prefix + attr
        out[name] = {"name": name, "args": args, "description": description}
    return out


def client_actions_of(cls: type) -> dict[str, dict[str, Any]]:
    """The introspected client actions of a driver class (cached per class)."""
    cache = cls.__dict__.get("_client_actions_cache")
    if cache is None:
        cache = introspect(getattr(cls, "ACTION_CLIENT", None))
        cls._client_actions_cache = cache
    return cache


def actions_of(cls: type) -> list[dict[str, Any]]:
    """Every action of a driver class (wrappers and client actions), sorted by name."""
    actions = {a["name"]: {"name": a["name"], "args": [dict(x) for x in a.get("args", [])],
                           "description": a.get("description", "")}
               for a in getattr(cls, "ACTIONS", [])}
    for name, a in client_actions_of(cls).items():
        actions.setdefault(name, {"name": name, "args": [dict(x) for x in a["args"]],
                                  "description": a["description"]})
    return [actions[n] for n in sorted(actions)]


# =========================================================================== helpers
def normalize_args(args: Any) -> dict[str, Any]:
    """``{"positional": list, "named": dict}`` from what a caller sent (BadRequest if bad)."""
    if args is None:
        return {"positional": [], "named": {}}
    if isinstance(args, (list, tuple)):
        return {"positional": list(args), "named": {}}
    if not isinstance(args, dict):
        raise exceptions.BadRequest(
            "Action arguments must be an object {'positional': [...], 'named': {...}}",
            code="execute_action_args_syntax")
    unknown = sorted(set(args) - {"positional", "named"})
    positional = args.get("positional") or []
    named = args.get("named") or {}
    if unknown or not isinstance(positional, (list, tuple)) or not isinstance(named, dict):
        raise exceptions.BadRequest(
            "Action arguments must be an object {'positional': [...], 'named': {...}}",
            code="execute_action_args_syntax")
    return {"positional": list(positional), "named": dict(named)}


def pairs_to_dict(values: list[Any]) -> dict[Any, Any]:
    """``[k1, v1, k2, v2]`` -> ``{k1: v1, k2: v2}`` (odd length: ActionError)."""
    if len(values) % 2:
        raise exceptions.ActionError(
            f"Expected key/value pairs, got an odd number of values: {values!r}")
    return {values[i]: values[i + 1] for i in range(0, len(values), 2)}


def trigger_key(ds_id: str, policy: str, action: str, row: list[Any]) -> str:
    """The stable key of a reactive action row (without the activation number)."""
    text = json.dumps([ds_id, policy, action, list(row)], sort_keys=True, default=str,
                      separators=(",", ":"))
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def jsonable(value: Any, limit: int = 4000) -> Any:
    """A JSON-able, bounded rendering of an action's result for the log."""
    if value is None:
        return None
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        try:
            value = to_dict()
        except Exception:
            value = str(value)
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = json.dumps(str(value))
    if len(text) > limit:
        return {"truncated": text[:limit]}
    return json.loads(text)


def _check_trigger(trigger: Any) -> tuple[str, str, list[Any]]:
    if not isinstance(trigger, dict):
        raise exceptions.BadRequest("trigger must be an object {policy, event, row}")
    policy, event, row = trigger.get("policy"), trigger.get("event"), trigger.get("row")
    if not isinstance(policy, str) or not policy:
        raise exceptions.BadRequest("trigger.policy must be a non-empty string")
    if event not in ("added", "removed"):
        raise exceptions.BadRequest("trigger.event must be 'added' or 'removed'")
    if not isinstance(row, (list, tuple)):
        raise exceptions.BadRequest("trigger.row must be a list")
    return policy, event, list(row)


# =========================================================================== executor
class ActionHost(Protocol):
    """What the executor needs of the datasource it acts for (a ``DataSourceDriver``)."""

    name: str
    ds_id: str
    DRIVER_ID: str
    ACTIONS: list[dict[str, Any]]     # declared actions: {"name", "description", "args"}
    node: Any                         # the bus node the datasource runs on
    conf: Any                         # the datasource's parsed configuration
    db: Any                           # the Database of its node (the action log lives there)

    def action_client(self) -> Any:
        """The object whose (dotted) methods are the datasource's client actions."""

    def execute(self, action: str, args: dict[str, Any]) -> Any:
        """Run one action against the cloud service."""


class ActionExecutor:
    """Per-driver action machinery (see the module docstring)."""

    def __init__(self, driver: ActionHost) -> None:
        self.driver = driver
        self._lock = threading.RLock()
        self.leader: tuple[str, str | None] | None = None     # (node_id, node instance)
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._listening = None
        # de-duplication state: key -> activation number of the active activation
        self._active: dict[str, int] = {}
        self._active_info: dict[str, tuple[str, dict[str, Any]]] = {}   # key -> (action, args)
        self._next_gen: dict[str, int] = {}
        self._loaded = False
        self.executions = 0          # executions attempted by this executor (tests, status)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._queue = queue.Queue()
                self._thread = threading.Thread(target=self._worker, daemon=True,
                                                name=f"actions-{self.driver.name}")
                self._thread.start()
            node = self.driver.node
            if node is not None and self._listening is None:
                node.add_peer_listener(self._on_peer)
                self._listening = node

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            listening, self._listening = self._listening, None
            self.leader = None
        if listening is not None:
            listening.remove_peer_listener(self._on_peer)
        if thread is not None:
            self._queue.put(None)
            if thread is not threading.current_thread():
                thread.join(timeout=30)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued reactive request has been handled (tests)."""
        q = self._queue
        with q.all_tasks_done:
            return q.all_tasks_done.wait_for(lambda: q.unfinished_tasks == 0, timeout)

    # ------------------------------------------------------------------ listing
    def client_actions(self) -> dict[str, dict[str, Any]]:
        return client_actions_of(type(self.driver))

    def list_actions(self) -> list[dict[str, Any]]:
        return actions_of(type(self.driver))

    # ------------------------------------------------------------------ executing
    def dispatch(self, action: str, args: Any) -> Any:
        """Run ``action`` (see :meth:`ActionHost.execute`)."""
        driver = self.driver
        args = normalize_args(args)
        wrappers = {a["name"] for a in driver.ACTIONS}
        if action not in wrappers and action not in self.client_actions():
            raise exceptions.ActionError(
                f"Datasource {driver.name} (driver {driver.DRIVER_ID}) has no action "
                f"{action}", code="unknown_action")
        self.executions += 1
        try:
            if action in wrappers:
                return getattr(driver, action)(args)
            target: Any = driver.action_client()
            for part in action.split("."):
                target = getattr(target, part)
            return target(*args["positional"], **args["named"])
        except Exception as exc:
            detail = exc.message if isinstance(exc, exceptions.CongressError) else \
                f"{type(exc).__name__}: {exc}"
            raise exceptions.ActionError(
                f"driver {driver.name} tries to execute {action} on arguments {args} but "
                f"{detail}") from exc

    def _enabled(self) -> bool:
        try:
            return bool(self.driver.conf.enable_execute_action)
        except (AttributeError, Exception):
            return True

    def request(self, action: Any, args: Any, *, requested_by: str | None = None,
                trigger: Any = None) -> dict[str, Any]:
        if not isinstance(action, str) or not action:
            raise exceptions.BadRequest("An action name is required")
        args = normalize_args(args)
        if trigger is None:
            return self._run_now(action, args, requested_by)
        policy, event, row = _check_trigger(trigger)
        caller = current_caller()
        node_id = caller.node_id if caller is not None and caller.node_id else requested_by
        instance = caller.instance if caller is not None else None
        if node_id is None:
            raise exceptions.BadRequest("A reactive action request needs a calling node")
        if not self._is_leader(node_id, instance):
            LOG.debug("Datasource %s: ignoring %s %s of %s from non-leader node %s",
                      self.driver.name, event, action, row, node_id)
            return {"accepted": False, "leader": self.leader[0] if self.leader else None}
        self._ensure_worker()
        self._queue.put(("trigger", action, args, policy, event, row, requested_by or node_id))
        return {"accepted": True, "leader": node_id}

    def _ensure_worker(self) -> None:
        if self._thread is None:
            self.start()

    def _log_db(self) -> Any:
        return self.driver.db

    def _run_now(self, action: str, args: dict[str, Any],
                 requested_by: str | None) -> dict[str, Any]:
        from congress.db import actions as action_log
        driver = self.driver
        caller = current_caller()
        who = requested_by or (caller.node_id if caller is not None else None)
        db = self._log_db()
        if not self._enabled():
            LOG.info("Datasource %s: action %s%s requested by %s not executed "
                     "(enable_execute_action is False)", driver.name, action, args, who)
            if db is not None:
                entry = action_log.log_request(db, driver.name, action, args, requested_by=who,
                                               status="skipped")
                action_log.record_result(db, entry["id"], "skipped",
                                         error="enable_execute_action is False")
            return {"status": "skipped"}
        log_id = None
        if db is not None:
            log_id = action_log.log_request(db, driver.name, action, args,
                                            requested_by=who)["id"]
        LOG.info("Datasource %s: executing %s %s (requested by %s)", driver.name, action,
                 args, who)
        try:
            result = driver.execute(action, args)
        except exceptions.CongressError as exc:
            LOG.warning("Datasource %s: action %s failed: %s", driver.name, action, exc)
            if log_id is not None:
                action_log.record_result(db, log_id, "failed", error=str(exc))
            raise
        if log_id is not None:
            action_log.record_result(db, log_id, "succeeded", result=jsonable(result))
        return {"status": "succeeded", "log_id": log_id}

    # ------------------------------------------------------------------ leader
    def _leader_alive(self, leader: tuple[str, str | None]) -> bool:
        node = self.driver.node
        if node is None:
            return True
        node_id, instance = leader
        if node_id == node.node_id:
            return node.get_service(ENGINE) is not None and instance in (None, node.instance)
        peer = node.peers().get(node_id)
        return (peer is not None and peer.hosts(ENGINE)
                and (instance is None or peer.instance == instance))

    def _is_leader(self, node_id: str, instance: str | None) -> bool:
        with self._lock:
            if self.leader is not None and not self._leader_alive(self.leader):
                LOG.info("Datasource %s: leader policy engine on node %s is gone",
                         self.driver.name, self.leader[0])
                self.leader = None
            if self.leader is None:
                candidate = (node_id, instance)
                node = self.driver.node
                if (node is not None and node_id != node.node_id
                        and node.get_service(ENGINE) is not None):
                    candidate = (node.node_id, node.instance)   # prefer the local PE
                self.leader = candidate
                LOG.info("Datasource %s: policy engine on node %s is now the action leader",
                         self.driver.name, candidate[0])
                self._ensure_worker()
                self._queue.put(("reconcile", candidate))
            leader_node, leader_instance = self.leader
            return leader_node == node_id and (leader_instance is None or instance is None
                                               or leader_instance == instance)

    def _on_peer(self, event: str, peer: Peer) -> None:
        with self._lock:
            leader = self.leader
            if leader is None or leader[0] != peer.node_id:
                return
            if event == "lost" or (event == "updated" and not peer.hosts(ENGINE)):
                LOG.info("Datasource %s: lost the leader policy engine on node %s",
                         self.driver.name, peer.node_id)
                self.leader = None
                # Pick a successor now rather than on its next request: what changed while
                # the old leader was dying (requests from others were ignored) is then
                # caught up by reconciling with the new leader at once.
                candidate = self._alive_engine()
                if candidate is not None:
                    self.leader = candidate
                    LOG.info("Datasource %s: policy engine on node %s is now the action leader",
                             self.driver.name, candidate[0])
                    self._ensure_worker()
                    self._queue.put(("reconcile", candidate))

    def _alive_engine(self) -> tuple[str, str | None] | None:
        """A live policy engine to lead: the one on this node, else the lowest node id."""
        node = self.driver.node
        if node is None:
            return None
        if node.get_service(ENGINE) is not None:
            return (node.node_id, node.instance)
        engines = sorted((p.node_id, p.instance) for p in node.peers().values()
                         if p.hosts(ENGINE))
        return engines[0] if engines else None

    def drop_leader(self) -> None:
        with self._lock:
            self.leader = None

    # ------------------------------------------------------------------ worker
    def _worker(self) -> None:
        q = self._queue
        while True:
            task = q.get()
            try:
                if task is None:
                    return
                if task[0] == "trigger":
                    _, action, args, policy, event, row, who = task
                    if event == "added":
                        self._added(policy, action, args, row, who)
                    else:
                        self._removed(policy, action, row, who)
                elif task[0] == "reconcile":
                    self._reconcile(task[1])
            except Exception:
                LOG.exception("Datasource %s: handling action task %s failed",
                              self.driver.name, task[0] if task else task)
            finally:
                q.task_done()

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        db = self._log_db()
        if db is None:
            return
        from congress.db import actions as action_log
        entries = action_log.list_actions(db, datasource=self.driver.name, limit=None)
        starts: dict[str, dict[int, tuple[str, Any]]] = {}
        ends: dict[str, set[int]] = {}
        for e in entries:
            m = _KEY_RE.match(e.get("trigger_key") or "")
            if not m:
                continue
            key, gen = m.group(1), int(m.group(2))
            if m.group(3):
                ends.setdefault(key, set()).add(gen)
            else:
                starts.setdefault(key, {})[gen] = (e["action"], e["args"])
        for key, gens in starts.items():
            top = max(gens)
            self._next_gen[key] = max(top, *ends.get(key, {top})) + 1
            if top not in ends.get(key, set()):
                self._active[key] = top
                action, args = gens[top]
                self._active_info[key] = (action, args if isinstance(args, dict) else {})
        if self._active:
            LOG.info("Datasource %s: %d reactive actions active from the action log",
                     self.driver.name, len(self._active))

    def active_keys(self) -> set[str]:
        with self._lock:
            self._load()
            return set(self._active)

    def _added(self, policy: str, action: str, args: dict[str, Any], row: list[Any],
               who: str | None) -> None:
        from congress.db import actions as action_log
        self._load()
        driver = self.driver
        key = trigger_key(driver.ds_id, policy, action, row)
        if key in self._active:
            LOG.debug("Datasource %s: %s%s already executed for policy %s", driver.name,
                      action, row, policy)
            return
        if not self._enabled():
            LOG.info("Datasource %s: action %s %s from policy %s not executed "
                     "(enable_execute_action is False)", driver.name, action, args, policy)
            return
        gen = self._next_gen.get(key, 0)
        db = self._log_db()
        log_id = None
        if db is not None:
            log_id = action_log.claim(db, f"{key}:{gen}", driver.name, action, args,
                                      requested_by=who)
            if log_id is None:
                LOG.info("Datasource %s: %s%s already claimed by another executor",
                         driver.name, action, row)
                self._active[key] = gen
                self._active_info[key] = (action, args)
                self._next_gen[key] = gen + 1
                return
        self._active[key] = gen
        self._active_info[key] = (action, args)
        self._next_gen[key] = gen + 1
        LOG.info("Datasource %s: executing %s %s for policy %s (leader %s)", driver.name,
                 action, args, policy, who)
        try:
            result = driver.execute(action, args)
        except exceptions.CongressError as exc:
            LOG.error("Datasource %s: reactive action %s failed: %s", driver.name, action, exc)
            if log_id is not None:
                action_log.record_result(db, log_id, "failed", error=str(exc))
            return
        if log_id is not None:
            action_log.record_result(db, log_id, "succeeded", result=jsonable(result))

    def _removed(self, policy: str, action: str, row: list[Any], who: str | None) -> None:
        self._load()
        key = trigger_key(self.driver.ds_id, policy, action, row)
        self._end(key, who)

    def _end(self, key: str, who: str | None) -> None:
        from congress.db import actions as action_log
        gen = self._active.pop(key, None)
        info = self._active_info.pop(key, None)
        if gen is None:
            return
        db = self._log_db()
        if db is None:
            return
        action, args = info or ("unknown", {})
        try:
            with db.transaction() as conn:
                entry = action_log.log_request(conn, self.driver.name, action, args,
                                               requested_by=who, trigger_key=f"{key}:{gen}:off",
                                               status="skipped")
                action_log.record_result(conn, entry["id"], "skipped",
                                         result={"event": "removed"})
        except exceptions.Conflict:
            pass

    def _reconcile(self, leader: tuple[str, str | None]) -> None:
        driver = self.driver
        node = driver.node
        if node is None:
            return
        with self._lock:
            if self.leader != leader:
                return
        try:
            rows = EngineClient(node).action_rows(driver.name, node_id=leader[0],
                                                  timeout=node.rpc_timeout)
        except exceptions.CongressError as exc:
            LOG.warning("Datasource %s: cannot reconcile actions with the policy engine on "
                        "node %s: %s", driver.name, leader[0], exc)
            return
        if not isinstance(rows, list):
            LOG.warning("Datasource %s: action_rows of node %s is not a list", driver.name,
                        leader[0])
            return
        self._load()
        wanted: dict[str, tuple[str, str, list[Any]]] = {}
        for r in rows:
            if not (isinstance(r, dict) and isinstance(r.get("policy"), str)
                    and isinstance(r.get("action"), str)
                    and isinstance(r.get("row"), (list, tuple))):
                LOG.warning("Datasource %s: ignoring malformed action row %r", driver.name, r)
                continue
            key = trigger_key(driver.ds_id, r["policy"], r["action"], list(r["row"]))
            wanted[key] = (r["policy"], r["action"], list(r["row"]))
        started = ended = 0
        for key, (policy, action, row) in wanted.items():
            if key not in self._active:
                started += 1
                self._added(policy, action, {"positional": row, "named": {}}, row, leader[0])
        for key in list(self._active):
            if key not in wanted:
                ended += 1
                self._end(key, leader[0])
        LOG.info("Datasource %s: reconciled actions with node %s (%d executed, %d ended)",
                 driver.name, leader[0], started, ended)
