"""``doctor``: host failure events pushed by OPNFV Doctor inspectors.

``PUT /v1/data-sources/<ds>/tables/events/rows`` with a JSON list of
``{"time", "type", "details": {"hostname", "status", "monitor", "monitor_event_id"}}``;
``details`` is flattened into the event and the list replaces the table (``[]`` clears it).
"""

from __future__ import annotations

from typing import Any

from congress import exceptions
from congress.datasources import json_array
from congress.datasources.declare import col, hdict
from congress.datasources.driver import PushDriver, Row
from congress.datasources.values import normalize_value


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


COLUMNS = ("time", "type", "hostname", "status", "monitor", "monitor_event_id")
_PLAIN = frozenset((str, int, float))


def event_row(i: int, event: Any) -> Row:
    """The row of event #``i``, as the ``events`` translator makes it: a value of ``details``
    wins over a top-level one of the same name, a missing column is None, values are
    normalized (``normalize_value``)."""
    if type(event) is not dict:
        raise exceptions.BadRequest(f"Doctor event #{i} must be an object")
    details = event.get("details")
    if details:
        if type(details) is not dict:
            raise exceptions.BadRequest(f"'details' of doctor event #{i} must be an object")
        event = {**event, **details}
    row = tuple(map(event.get, COLUMNS))
    if not _PLAIN.issuperset(map(type, row)):
        row = tuple(map(normalize_value, row))
    return row


def event_rows(events: list[Any]) -> set[Row]:
    """The rows of ``events`` (a list of events, each checked), in one pass."""
    return set(map(event_row, range(len(events)), events))


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: the raw text of each event of the last PUT body -> its row (see replace_table_json)
        self._known_events: dict[str, Row] = {}

    def replace_table_json(self, table: str, body: str) -> None:
        """``PUT .../tables/events/rows``: an event whose text was in the last body is neither
        decoded nor translated again (:func:`congress.datasources.json_array.decode`), so
        the work of a push that changes a few events of many is mostly finding them."""
        if table != "events":
            super().replace_table_json(table, body)
            return
        try:
            rows, known = json_array.decode(body, event_row, self._known_events,
                                            remember=True)
        except json_array.InvalidJson as e:
            raise json_array.invalid_json(e) from None
        self.commit({"events": rows})
        # a pure function of the text is remembered: valid whether the commit worked or not
        self._known_events = known

    def translate_push(self, table: str, rows: Any) -> dict[str, set[Row]]:
        if table == "events" and type(rows) is list:
            return {"events": event_rows(rows)}     # checks each event too
        if table == "events":
            _check_events(rows)
        return super().translate_push(table, rows)
