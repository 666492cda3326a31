"""Actions of the policy engine: rows of ``execute[...]`` tables become action requests.

New rows of ``execute[...]`` tables are sent to the datasource's service as action requests;
the datasource side picks one engine (its leader) to obey and asks it for the rows it holds
(``action_rows``) when the leader changes. ``execute_action`` is the API's direct request.
"""

from __future__ import annotations

import logging
from typing import Any

from congress import exceptions
from congress.policy.runtime import Update
from congress.services import metrics

LOG = logging.getLogger(__name__)


class ActionDispatch:
    """Sending actions to datasources (a part of the engine service)."""

    # provided by PolicyEngineService
    node_ref: Any
    db: Any
    conf: Any
    rt: Any
    lock: Any

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
                metrics.ACTIONS.labels(a.service, "requested").inc()
                LOG.info("requested action %s:%s%s (policy %s)", a.service, a.action,
                         list(a.args), a.policy)
        except Exception as e:
            metrics.ACTIONS.labels(a.service, "failed").inc()
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
            metrics.ACTIONS.labels(service, "requested").inc()
        except Exception as e:
            metrics.ACTIONS.labels(service, "failed").inc()
            LOG.warning("could not request execute %s:%s: %s", service, action, e)
