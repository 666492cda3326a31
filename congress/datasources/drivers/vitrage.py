"""``vitrage``: Vitrage alarm notifications received by webhook.

``POST /v1/data-sources/<ds>/webhook`` with ``{"notification": ..., "payload": {<alarm>,
"resource": {...}}}``: the ``resource`` keys become ``resource_<key>`` columns, the receipt time
``receive_timestamp``; a row with the same ``vitrage_id`` is replaced. Rows whose
``update_timestamp`` is ``hours_to_keep_alarm`` old are removed (and the removal published).
"""

from __future__ import annotations

import datetime
from typing import Any

from congress import exceptions
from congress.datasources.declare import col, hdict
from congress.datasources.drivers._expiry import ExpiringPushDriver

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
TABLE = "alarms"
_VITRAGE_ID = 4
_UPDATE_TIMESTAMP = 5

ALARMS = hdict(TABLE,
    col("name"),
    col("state"),
    col("vitrage_type", col="type"),
    col("vitrage_operational_severity", col="operational_severity"),
    col("vitrage_id"),
    col("update_timestamp"),
    col("receive_timestamp"),
    col("resource_name"),
    col("resource_id"),
    col("resource_vitrage_id"),
    col("resource_project_id"),
    col("resource_vitrage_operational_state", col="resource_operational_state"),
    col("resource_vitrage_type", col="resource_type"))


class VitrageDriver(ExpiringPushDriver):
    DRIVER_ID = "vitrage"
    DESCRIPTION = "Datasource driver that accepts Vitrage webhook alarm notifications."
    TRANSLATORS = [ALARMS]

    def webhook(self, payload: Any, table: str | None = None) -> None:
        if not isinstance(payload, dict) or not isinstance(payload.get("payload"), dict):
            raise exceptions.BadRequest(
                "Vitrage webhook body must be an object with a 'payload' object",
                code="bad_webhook")
        alarm = dict(payload["payload"])
        missing = [f"payload.{k}" for k in ("vitrage_id", "resource") if k not in alarm]
        if missing:
            raise exceptions.BadRequest(
                f"Vitrage alarm notification is missing: {', '.join(missing)}",
                code="bad_webhook", data={"missing": missing})
        resource = alarm.pop("resource")
        if not isinstance(resource, dict):
            raise exceptions.BadRequest("payload.resource of a Vitrage alarm must be an object",
                                        code="bad_webhook")
        for k, v in resource.items():
            alarm[f"resource_{k}"] = v
        alarm["receive_timestamp"] = datetime.datetime.now(datetime.UTC).strftime(
            TIMESTAMP_FORMAT)
        rows = self.translator_set().translator_for(TABLE).translate([alarm])[TABLE]
        vitrage_id = next(iter(rows))[_VITRAGE_ID]
        with self._lock:
            keep = {r for r in self._state[TABLE] if r[_VITRAGE_ID] != vitrage_id}
            self.commit({TABLE: keep | rows})

    def expire(self, now: datetime.datetime | None = None) -> int:
        now = now or datetime.datetime.now(datetime.UTC)
        with self._lock:
            rows = self._state[TABLE]
            old = {r for r in rows if self.is_expired(r[_UPDATE_TIMESTAMP], now)}
            if old:
                self.commit({TABLE: rows - old})
        return len(old)
