"""The policy engine as the other services and the API reach it: its service id and a typed client.

The engine (``congress.services.policy_engine.PolicyEngineService``) serves RPC methods on the
bus under one service id, :data:`ENGINE`. Callers do not spell that id or the method names:
they hold an :class:`EngineClient` over whatever can make bus calls (a :class:`~congress.bus.
node.Node`, or the API's backend), whose methods carry the real signatures. The service checks
its side of the contract: every method called here is in its ``rpc_methods``.
"""

from __future__ import annotations

from typing import Any, Protocol

from congress.bus.service_ids import ENGINE

__all__ = ["ENGINE", "EngineClient", "announce_datasource_change", "announce_policy_change"]


class Caller(Protocol):
    """Something that can call a bus service (a Node, the API backend)."""

    def call(self, service_id: str, method: str, /, **kwargs: Any) -> Any: ...


class Broadcaster(Protocol):
    def broadcast(self, service_id: str, method: str, **kwargs: Any) -> None: ...


class EngineClient:
    """Typed RPC calls to the policy engine (the nearest one, unless a node id is given)."""

    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    def _call(self, method: str, **kwargs: Any) -> Any:
        return self._caller.call(ENGINE, method, **kwargs)

    # ------------------------------------------------------------------ policies
    def list_policies(self) -> list[dict[str, Any]]:
        return self._call("list_policies")

    def get_policy(self, policy: str) -> dict[str, Any]:
        return self._call("get_policy", policy=policy)

    def create_policy(self, *, name: Any = None, kind: Any = None, abbreviation: Any = None,
                      description: Any = None, rules: Any = None,
                      library_policy_id: Any = None) -> dict[str, Any]:
        """A new policy from its fields, or (``library_policy_id``) a copy of a library
        policy; arguments are checked by the engine (wrong types are a 400)."""
        return self._call("create_policy", name=name, kind=kind, abbreviation=abbreviation,
                          description=description, rules=rules,
                          library_policy_id=library_policy_id)

    def delete_policy(self, policy: str) -> dict[str, Any]:
        return self._call("delete_policy", policy=policy)

    # ------------------------------------------------------------------ rules
    def list_rules(self, policy: str) -> list[dict[str, Any]]:
        return self._call("list_rules", policy=policy)

    def get_rule(self, policy: str, rule_id: str) -> dict[str, Any]:
        return self._call("get_rule", policy=policy, rule_id=rule_id)

    def insert_rule(self, policy: str, rule: Any, *, name: Any = None,
                    comment: Any = None) -> dict[str, Any]:
        return self._call("insert_rule", policy=policy, rule=rule, name=name, comment=comment)

    def delete_rule(self, policy: str, rule_id: str) -> dict[str, Any]:
        return self._call("delete_rule", policy=policy, rule_id=rule_id)

    # ------------------------------------------------------------------ tables and queries
    def list_tables(self, policy: str) -> list[str]:
        return self._call("list_tables", policy=policy)

    def get_rows(self, policy: str, table: str, *, trace: bool = False) -> dict[str, Any]:
        return self._call("get_rows", policy=policy, table=table, trace=trace)

    def simulate(self, policy: str, *, query: Any, sequence: Any, action_policy: Any,
                 delta: bool = False, trace: bool = False) -> dict[str, Any]:
        return self._call("simulate", policy=policy, query=query, sequence=sequence,
                          action_policy=action_policy, delta=delta, trace=trace)

    def explain(self, policy: str, atom: str) -> dict[str, Any]:
        return self._call("explain", policy=policy, atom=atom)

    # ------------------------------------------------------------------ actions
    def execute_action(self, service: Any, action: Any, args: Any = None, *,
                       requested_by: str | None = None) -> dict[str, Any]:
        return self._call("execute_action", service=service, action=action, args=args,
                          requested_by=requested_by)

    def action_rows(self, service: str, *, node_id: str, timeout: float | None = None
                    ) -> list[dict[str, Any]]:
        """The rows of ``execute[...]`` tables for ``service`` that the engine on node
        ``node_id`` considers active (a datasource reconciling with a new action leader)."""
        return self._caller.call(ENGINE, "action_rows", node_id=node_id, timeout=timeout,
                                 service=service)

    # ------------------------------------------------------------------ operations
    def status(self) -> dict[str, Any]:
        return self._call("status")

    def sync(self) -> dict[str, Any]:
        """Force a full re-sync of the engine with the database."""
        return self._call("sync")


def announce_policy_change(bus: Broadcaster, *, revision: int, origin: str) -> None:
    """Tell every engine that the policies changed up to ``revision`` (sent by ``origin``)."""
    bus.broadcast(ENGINE, "policy_changed", revision=revision, origin=origin)


def announce_datasource_change(bus: Broadcaster, *, name: str, op: str) -> None:
    """Tell every engine that datasource ``name`` was created or deleted (``op``)."""
    bus.broadcast(ENGINE, "datasource_changed", name=name, op=op)
