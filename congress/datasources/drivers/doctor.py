"""``doctor``: host failure events pushed by OPNFV Doctor inspectors.

``PUT /v1/data-sources/<ds>/tables/events/rows`` with a JSON list of
``{"time", "type", "details": {"hostname", "status", "monitor", "monitor_event_id"}}``;
``details`` is flattened into the event and the list replaces the table (``[]`` clears it).
"""

from __future__ import annotations

from typing import Any

from congress import exceptions
from congress.datasources.declare import col, hdict
from congress.datasources.driver import PushDriver


def _check_events(events: Any) -> None:
    if not isinstance(events, list):
        return
    for i, event in enumerate(events):
        if not isinstance(event, dict):
            raise exceptions.BadRequest(f"Doctor event #{i} must be an object")
        if not isinstance(event.get("details") or {}, dict):
            raise exceptions.BadRequest(f"'details' of doctor event #{i} must be an object")


def _flatten_events(events: Any) -> list[dict[str, Any]]:
    out = []
    for event in events:
        details = event.get("details") or {}
        flat = {k: v for k, v in event.items() if k != "details"}
        flat.update(details)
        out.append(flat)
    return out


EVENTS = hdict("events",
    col("time"),
    col("type"),
    col("hostname"),
    col("status"),
    col("monitor"),
    col("monitor_event_id"),
    objects_extract_fn=_flatten_events)


class DoctorDriver(PushDriver):
    DRIVER_ID = "doctor"
    DESCRIPTION = "Datasource driver that allows external systems to push data in accordance "\
                  "with OPNFV Doctor Inspector southbound interface specification."
    TRANSLATORS = [EVENTS]

    def replace_table(self, table: str, rows: Any) -> None:
        if table == "events":
            _check_events(rows)
        super().replace_table(table, rows)
