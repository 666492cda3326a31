"""``monasca_webhook``: Monasca alarm notifications received by webhook.

The webhook body is the notification (``alarm_id``, ``alarm_definition_id``, ``alarm_name``,
``alarm_description``, ``alarm_timestamp``, ``state``, ``old_state``, ``message``,
``tenant_id``, ``metrics: [{id, name, dimensions: {k: v}}]``). A notification replaces the rows
of the same ``alarm_id`` (its metrics too); dimension sets no metric refers to any more are
dropped (OpenStack Congress kept them forever). Alarms whose ``alarm_timestamp`` (epoch seconds or
milliseconds, or ISO text) is ``hours_to_keep_alarm`` old are removed and the removal published.
"""

from __future__ import annotations

import datetime
from typing import Any

from congress import exceptions
from congress.datasources.declare import VALUE_COLUMN, col, hdict
from congress.datasources.drivers._expiry import ExpiringPushDriver
from congress.datasources.translators import VDICT

NOTIFICATIONS = "alarm_notification"
METRICS = "alarms.metrics"
DIMENSIONS = "alarms.metrics.dimensions"
_TIMESTAMP = 4

METRIC = hdict(METRICS,
    col("id"),
    col("name"),
    col("dimensions",
        translator={"translation-type": VDICT, "table-name": DIMENSIONS, "id-col": "id",
                    "key-col": "key", "val-col": "value", "translator": VALUE_COLUMN}),
    parent_key="alarm_id", parent_col_name="alarm_id", parent_key_desc="ALARM id", in_list=True)

ALARM_NOTIFICATION = hdict(NOTIFICATIONS,
    col("alarm_id"),
    col("alarm_definition_id"),
    col("alarm_name"),
    col("alarm_description"),
    col("alarm_timestamp"),
    col("state"),
    col("old_state"),
    col("message"),
    col("tenant_id"),
    col("metrics", translator=METRIC))


class MonascaWebhookDriver(ExpiringPushDriver):
    DRIVER_ID = "monasca_webhook"
    DESCRIPTION = "Datasource driver that accepts Monasca webhook alarm notifications."
    TRANSLATORS = [ALARM_NOTIFICATION]

    def webhook(self, payload: Any, table: str | None = None) -> None:
        if not isinstance(payload, dict):
            raise exceptions.BadRequest("Monasca alarm notification must be an object",
                                        code="bad_webhook")
        missing = [k for k in ("alarm_id",) if k not in payload]
        if missing:
            raise exceptions.BadRequest(
                f"Monasca alarm notification is missing: {', '.join(missing)}",
                code="bad_webhook", data={"missing": missing})
        metrics = payload.get("metrics")
        if metrics is not None and not isinstance(metrics, list):
            raise exceptions.BadRequest("'metrics' of a Monasca alarm notification must be a "
                                        "list", code="bad_webhook")
        new = self.translator_set().translator_for(NOTIFICATIONS).translate([payload])
        alarm_id = next(iter(new[NOTIFICATIONS]))[0]
        with self._lock:
            notes = {r for r in self._state[NOTIFICATIONS] if r[0] != alarm_id}
            metrics_rows = {r for r in self._state[METRICS] if r[0] != alarm_id}
            self.commit(self._tables(notes | new[NOTIFICATIONS], metrics_rows | new[METRICS],
                                     self._state[DIMENSIONS] | new[DIMENSIONS]))

    @staticmethod
    def _tables(notes: set, metrics: set, dimensions: set) -> dict[str, set]:
        used = {r[3] for r in metrics}
        return {NOTIFICATIONS: notes, METRICS: metrics,
                DIMENSIONS: {r for r in dimensions if r[0] in used}}

    def expire(self, now: datetime.datetime | None = None) -> int:
        now = now or datetime.datetime.now(datetime.UTC)
        with self._lock:
            notes = self._state[NOTIFICATIONS]
            old = {r for r in notes if self.is_expired(r[_TIMESTAMP], now)}
            if old:
                gone = {r[0] for r in old}
                self.commit(self._tables(
                    set(notes - old), {r for r in self._state[METRICS] if r[0] not in gone},
                    set(self._state[DIMENSIONS])))
        return len(old)
