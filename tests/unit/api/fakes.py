"""An in-memory backend implementing the service RPC contract of doc/architecture.md.

Methods have the contract's exact signatures (no ``**kwargs``), so an API call with a wrong or
extra keyword fails the test (as a 500). Behaviour is just enough to drive the HTTP layer.
"""

from __future__ import annotations

import copy
import re
import uuid
from typing import Any

from congress import exceptions as exc
from congress.datasources import json_array
from congress.policy import kinds

_NAME_RE = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*(:[A-Za-z_.][A-Za-z0-9_.]*)*$")


def _pretty(rule: str) -> str:
    head, sep, body = rule.partition(":-")
    if not sep:
        return rule.strip()
    lits = [lit.strip() + ")" for lit in body.strip().rstrip(")").split("),")]
    return head.strip() + " :-\n  " + ",\n  ".join(lits)


class FakeEngine:
    def __init__(self) -> None:
        self.policies: dict[str, dict[str, Any]] = {}
        self.rules: dict[str, dict[str, dict[str, Any]]] = {}
        self.rows: dict[tuple[str, str], list[list[Any]]] = {}
        self.library: FakeLibrary | None = None
        self.known_services = {"nova"}
        for name, kind, desc in (("classification", "nonrecursive", "default policy"),
                                 ("action", "action", "default action policy")):
            self._add(name, kind, name[:5], desc)

    def _add(self, name: str, kind: str, abbr: str, desc: str) -> dict[str, Any]:
        policy = {"id": str(uuid.uuid4()), "name": name, "abbreviation": abbr,
                  "description": desc, "owner_id": "user", "kind": kind}
        self.policies[name] = policy
        self.rules[name] = {}
        return policy

    def _find(self, policy: str) -> dict[str, Any] | None:
        if policy in self.policies:
            return self.policies[policy]
        return next((p for p in self.policies.values() if p["id"] == policy), None)

    def _loaded(self, policy: str) -> str:
        p = self._find(policy)
        if p is None:
            raise exc.PolicyNotFound(f"Policy {policy} does not exist")
        return p["name"]

    # -- contract
    def list_policies(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(p) for p in self.policies.values()]

    def get_policy(self, policy: str) -> dict[str, Any]:
        p = self._find(policy)
        if p is None:
            raise exc.NotFound(f"No policy found with name or id {policy}")
        return copy.deepcopy(p)

    def create_policy(self, name: str | None, kind: str | None = None,
                      abbreviation: str | None = None, description: str | None = None,
                      rules: list[dict[str, Any]] | None = None,
                      library_policy_id: str | None = None) -> dict[str, Any]:
        if library_policy_id is not None:
            assert self.library is not None
            lp = self.library.get(library_policy_id)
            name, kind, abbreviation = lp["name"], lp["kind"], lp["abbreviation"]
            description, rules = lp["description"], lp["rules"]
        assert name is not None
        if name in self.policies:
            raise exc.PolicyExists(f"Policy with name {name} already exists")
        if not _NAME_RE.match(name) or name == "builtin":
            raise exc.InvalidPolicyName(f"Policy name {name} is not a valid tablename")
        kind = (kind or "nonrecursive").lower()
        if kind not in kinds.CREATABLE:
            raise exc.UnknownPolicyKind(f"Unknown kind of policy: {kind}")
        policy = self._add(name, kind, abbreviation or name[:5], description or "")
        out = copy.deepcopy(policy)
        if rules is not None:
            out["rules"] = []
            for r in rules:
                try:
                    inserted = self.insert_rule(name, r["rule"], r.get("name"),
                                                r.get("comment"))
                except exc.CongressError:
                    del self.policies[name]
                    raise
                out["rules"].append({k: inserted[k] for k in ("rule", "name", "comment")})
        return out

    def delete_policy(self, policy: str) -> dict[str, Any]:
        p = self._find(policy)
        if p is None:
            raise exc.NotFound(f"No policy found with name or id {policy}")
        if p["name"] in ("classification", "action"):
            raise exc.SystemPolicyError(f"Cannot delete system-maintained policy {p['name']}")
        del self.policies[p["name"]]
        del self.rules[p["name"]]
        return p

    def list_rules(self, policy: str) -> list[dict[str, Any]]:
        return list(self.rules[self._loaded(policy)].values())

    def get_rule(self, policy: str, rule_id: str) -> dict[str, Any] | None:
        return self.rules[self._loaded(policy)].get(rule_id)

    def insert_rule(self, policy: str, rule: str, name: str | None = None,
                    comment: str | None = None) -> dict[str, Any]:
        pname = self._loaded(policy)
        if self.policies[pname]["kind"] == "datasource":
            raise exc.RuleNotPermitted("rules are not permitted on datasource policies")
        if not rule.strip() or rule.count("(") != rule.count(")"):
            raise exc.ParseError(f"Parse error in rule {rule!r}", position=(1, 0))
        if ";" in rule:
            raise exc.MultipleRulesError("Received multiple rules: " + rule)
        if any(r["rule"] == rule for r in self.rules[pname].values()):
            raise exc.RuleExistsError("Rule already exists")
        rid = str(uuid.uuid4())
        self.rules[pname][rid] = {"id": rid, "name": name or "", "comment": comment or "",
                                  "rule": rule}
        return {"id": rid, "name": name or "", "comment": comment or "", "rule": _pretty(rule)}

    def delete_rule(self, policy: str, rule_id: str) -> dict[str, Any]:
        rules = self.rules[self._loaded(policy)]
        if rule_id not in rules:
            raise exc.RuleNotFound(f"rule {rule_id} does not exist")
        return rules.pop(rule_id)

    def list_tables(self, policy: str) -> list[str]:
        name = self._loaded(policy)
        tables = {r["rule"].split("(")[0].strip() for r in self.rules[name].values()}
        tables |= {t for (p, t) in self.rows if p == name}
        return sorted(tables)

    def get_rows(self, policy: str, table: str, trace: bool = False) -> dict[str, Any]:
        name = self._loaded(policy)
        if table not in self.list_tables(name):
            raise exc.TableNotFound(f"table '{table}' doesn't exist")
        out: dict[str, Any] = {"results": [{"data": r} for r in self.rows.get((name, table),
                                                                             [])]}
        if trace:
            out["trace"] = ""
        return out

    def simulate(self, policy: str, query: str, sequence: str, action_policy: str,
                 delta: bool = False, trace: bool = False) -> dict[str, Any]:
        if policy not in self.policies:
            raise exc.PolicyNotFound(f"Unknown policy {policy}")
        if "(" not in sequence:
            raise exc.ParseError(f"Syntax error in sequence {sequence}")
        out: dict[str, Any] = {"result": [f"{query}+" if delta else query]}
        if trace:
            out["trace"] = "RESULT"
        return out

    def execute_action(self, service: str, action: str, args: dict[str, Any],
                       requested_by: str | None = None) -> dict[str, Any]:
        if service not in self.known_services:
            raise exc.ActionError(f"Service {service} not found")
        return {}


class FakeLibrary:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def _view(self, lp: dict[str, Any], include_rules: bool) -> dict[str, Any]:
        out = copy.deepcopy(lp)
        if not include_rules:
            out.pop("rules", None)
        return out

    def list(self, include_rules: bool = True, name: str | None = None
             ) -> list[dict[str, Any]]:
        return [self._view(lp, include_rules) for lp in self.items.values()
                if name is None or lp["name"] == name]

    def get(self, id: str, include_rules: bool = True) -> dict[str, Any]:  # noqa: A002
        if id not in self.items:
            raise exc.NotFound(f"No policy found with policy id {id}")
        return self._view(self.items[id], include_rules)

    def _normalize(self, body: dict[str, Any]) -> dict[str, Any]:
        if not _NAME_RE.match(body["name"]):
            raise exc.InvalidPolicyName(f"name `{body['name']}` is not a valid policy name")
        lp = copy.deepcopy(body)
        lp.setdefault("kind", "nonrecursive")
        lp.setdefault("abbreviation", body["name"][:5])
        lp.setdefault("description", "")
        return lp

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        if any(lp["name"] == body["name"] for lp in self.items.values()):
            raise exc.Conflict(f"Library policy named {body['name']} already exists")
        lp = self._normalize(body)
        lp["id"] = str(uuid.uuid4())
        self.items[lp["id"]] = lp
        return copy.deepcopy(lp)

    def delete(self, id: str) -> dict[str, Any]:  # noqa: A002
        if id not in self.items:
            raise exc.NotFound(f"No policy found with policy id {id}")
        return self.items.pop(id)

    def replace(self, id: str, body: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
        if id not in self.items:
            raise exc.NotFound(f"No policy found with policy id {id}")
        lp = self._normalize(body)
        lp["id"] = id
        self.items[id] = lp
        return copy.deepcopy(lp)


DRIVERS = {
    "fake": {"id": "fake", "description": "A fake driver",
             "config": {"username": "required", "password": "required",
                        "poll_time": "(optional)"},
             "secret": ["password"],
             "tables": [{"table_id": "servers",
                         "columns": [{"name": "id", "description": "server id"},
                                     {"name": "name", "description": None}]}]},
    "push": {"id": "push", "description": "Push driver", "config": {}, "tables": []},
}


class FakeDatasourceService:
    def __init__(self, name: str, driver: str) -> None:
        self.name = name
        self.driver = driver
        self.tables: dict[str, list[list[Any]]] = {"servers": [["s1", "one"]], "flavors": []}
        self.refreshes = 0
        self.executed: list[dict[str, Any]] = []
        self.webhooks: list[tuple[Any, str | None]] = []

    def get_status(self) -> dict[str, Any]:
        return {"last_updated": "None", "last_error": "None", "number_of_updates": "0",
                "initialized": "True", "subscriptions": [], "subscribers": ["__engine"]}

    def get_schema(self) -> dict[str, Any]:
        return {"tables": copy.deepcopy(DRIVERS[self.driver]["tables"])}

    def get_table_spec(self, table: str) -> dict[str, Any]:
        for t in DRIVERS[self.driver]["tables"]:
            if t["table_id"] == table:
                return copy.deepcopy(t)
        raise exc.NotFound(f"Table '{table}' for datasource '{self.name}' has no schema ")

    def get_actions(self) -> list[dict[str, Any]]:
        return [{"name": "zeta", "args": [], "description": "z"},
                {"name": "alpha", "args": [{"name": "x", "description": "an x"}],
                 "description": "a"}]

    def list_tables(self) -> list[str]:
        return sorted(self.tables)

    def get_rows(self, table: str) -> list[list[Any]]:
        if table not in self.tables:
            raise exc.NotFound(f"tablename '{table}' does not exist'")
        return self.tables[table]

    def replace_table(self, table: str, rows: list[Any]) -> None:
        if self.driver != "push":
            raise exc.BadRequest(
                f"Method replace_entire_table_data not supported for datasource {self.name}")
        self.tables[table] = rows

    def replace_table_json(self, table: str, body: str) -> None:
        try:
            rows, _ = json_array.decode(body)
        except json_array.InvalidJson as e:
            raise json_array.invalid_json(e) from None
        self.replace_table(table, rows)

    def webhook(self, payload: Any, table: str | None = None) -> None:
        self.webhooks.append((payload, table))

    def publication_state(self) -> dict[str, Any]:
        return {"publisher": self.name, "incarnation": "inc-1",
                "seqnums": {t: 1 for t in self.tables}}

    def request_refresh(self) -> None:
        self.refreshes += 1

    def request_execute(self, action: str, args: dict[str, Any], requested_by: str,
                        trigger: Any = None) -> None:
        self.executed.append({"action": action, "args": args, "requested_by": requested_by,
                              "trigger": trigger})


class FakeDatasourceManager:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.services: dict[str, FakeDatasourceService] = {}

    def _find(self, ds: str) -> dict[str, Any]:
        for item in self.items.values():
            if ds in (item["id"], item["name"]):
                return item
        raise exc.DatasourceNotFound(f"Datasource not found {ds}")

    def list_datasources(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(d) for d in self.items.values()]

    def get_datasource(self, ds: str) -> dict[str, Any]:
        return copy.deepcopy(self._find(ds))

    def create_datasource(self, body: dict[str, Any]) -> dict[str, Any]:
        if body["driver"] not in DRIVERS:
            raise exc.InvalidDriver(f"Invalid driver: {body['driver']}")
        if any(d["name"] == body["name"] for d in self.items.values()):
            raise exc.DatasourceExists(f"Datasource already in use with name {body['name']}")
        ds = {"id": str(uuid.uuid4()), "name": body["name"], "driver": body["driver"],
              "description": body.get("description"), "type": None,
              "enabled": body.get("enabled", True), "config": dict(body.get("config") or {})}
        self.items[ds["id"]] = ds
        self.services[ds["name"]] = FakeDatasourceService(ds["name"], ds["driver"])
        return copy.deepcopy(ds)

    def delete_datasource(self, ds: str) -> None:
        item = self._find(ds)
        del self.items[item["id"]]
        del self.services[item["name"]]

    def resolve(self, ds: str) -> str:
        return self._find(ds)["name"]

    def list_drivers(self) -> list[dict[str, Any]]:
        return [{"id": d["id"], "description": d["description"]} for d in DRIVERS.values()]

    def get_driver(self, driver_id: str) -> dict[str, Any]:
        if driver_id not in DRIVERS:
            raise exc.DriverNotFound(
                f"Driver not found {driver_id}. Either not supported or disabled by deployer "
                "in Congress config")
        return copy.deepcopy(DRIVERS[driver_id])


class FakeBackend:
    """``call(service, method, **kwargs)`` and ``node_info()`` over the fakes above."""

    def __init__(self) -> None:
        self.engine = FakeEngine()
        self.library = FakeLibrary()
        self.engine.library = self.library
        self.ds_manager = FakeDatasourceManager()
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.errors: dict[tuple[str, str], BaseException] = {}
        self.info: dict[str, Any] = {"node_id": "node-1", "policy_revision": 3,
                                     "data_revision": 7, "healthy": True,
                                     "detail": {"services": ["__engine"]}}
        self.node_info_error: BaseException | None = None
        self.waited: list[dict[str, Any]] = []

    def _target(self, service_id: str) -> Any:
        if service_id == "__engine":
            return self.engine
        if service_id == "__library":
            return self.library
        if service_id == "_ds_manager":
            return self.ds_manager
        if service_id in self.ds_manager.services:
            return self.ds_manager.services[service_id]
        raise exc.ServiceNotFound(f"service '{service_id}' could not be found")

    def call(self, service_id: str, method: str, **kwargs: Any) -> Any:
        self.calls.append((service_id, method, kwargs))
        if (service_id, method) in self.errors:
            raise self.errors[(service_id, method)]
        target = self._target(service_id)
        handler = getattr(target, method, None)
        if handler is None or method.startswith("_"):
            raise exc.BadRequest(f"Method {method} not supported for datasource {service_id}")
        return copy.deepcopy(handler(**kwargs))

    def wait_for_data(self, fence: dict[str, Any], timeout: float) -> bool:
        self.waited.append(fence)
        return True

    def node_info(self) -> dict[str, Any]:
        if self.node_info_error is not None:
            raise self.node_info_error
        return dict(self.info)

    def last_call(self, method: str) -> tuple[str, dict[str, Any]]:
        for service, m, kwargs in reversed(self.calls):
            if m == method:
                return service, kwargs
        raise AssertionError(f"{method} was never called")
