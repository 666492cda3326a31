"""``fake_datasource``: a driver for tests (registered, so that tests written for OpenStack
Congress find it).

Table ``fake_table(id, name)``; it polls (counting polls; rows come from ``fake_rows``, empty
unless a test sets it), accepts pushed rows (``PUT .../tables/fake_table/rows`` with
``[{"id", "name"}]``) and webhooks (stored in ``webhook_payloads``), and executes ``fake_act``
(and any other action name) by recording ``(action, args)`` in ``exec_history``.
Config: the common OpenStack options (the password is secret); nothing is contacted.
"""

from __future__ import annotations

from typing import Any

from congress.datasources.declare import col, hdict
from congress.datasources.driver import PollingDriver
from congress.datasources.execution import normalize_args
from congress.datasources.openstack import openstack_config

FAKE_TABLE = hdict("fake_table",
    col("id"),
    col("name"))


class FakeDataSource(PollingDriver):
    DRIVER_ID = "fake_datasource"
    DESCRIPTION = "This is a fake driver used for testing"
    CONFIG = openstack_config()
    TRANSLATORS = [FAKE_TABLE]
    PUSH = True
    ACTIONS = [{"name": "fake_act",
                "args": [{"name": "server_id", "description": "server to act"}],
                "description": "fake action"}]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fake_rows: list[dict[str, Any]] = []
        self.exec_history: list[tuple[str, dict[str, Any]]] = []
        self.webhook_payloads: list[Any] = []
        self.polls = 0

    def fetch_fake_table(self) -> list[dict[str, Any]]:
        self.polls += 1
        return list(self.fake_rows)

    def fake_act(self, args: dict[str, Any]) -> None:
        """fake action"""

    def execute(self, action: str, args: dict[str, Any]) -> Any:
        self.exec_history.append((action, normalize_args(args)))
        if action == "fake_act" or "." not in action:
            return None
        return super().execute(action, args)

    def replace_table(self, table: str, rows: Any) -> None:
        from congress import exceptions
        if table != "fake_table":
            raise exceptions.BadRequest(f"translator: {table} is not in the datasource driver")
        if not isinstance(rows, list):
            raise exceptions.BadRequest("Rows of table fake_table must be a JSON array")
        tables = self.translate("fake_table", rows)
        with self._lock:
            self.set_tables({t: frozenset(r) for t, r in tables.items()})
            self._mark_updated()

    def webhook(self, payload: Any, table: str | None = None) -> None:
        self.webhook_payloads.append(payload)
