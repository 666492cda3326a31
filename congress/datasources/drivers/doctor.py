"""``doctor``: host failure events pushed by OPNFV Doctor inspectors.

``PUT /v1/data-sources/<ds>/tables/events/rows`` with a JSON list of
``{"time", "type", "details": {"hostname", "status", "monitor", "monitor_event_id"}}``;
``details`` is flattened into the event and the list replaces the table (``[]`` clears it).
"""

from __future__ import annotations

import re
import threading
from typing import Any

from congress import exceptions, gcpause
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


def _event_pattern() -> re.Pattern[str]:
    """The usual event as JSON text: "time", "type" and "details" (holding "hostname",
    "status", "monitor", "monitor_event_id"), in that order and nothing else, every value a
    string without escapes; its groups are the event's row (what :func:`event_row` makes of
    the decoded event), whatever whitespace JSON puts between the tokens."""
    # possessive (Python >= 3.11): whitespace is never given back, as the token after it never
    # starts with any; spares the engine its backtracking bookkeeping (100k events: 0.13 s
    # of matching instead of 0.16)
    ws = r"[ \t\n\r]*+"
    string = r'"([^"\\\x00-\x1f]*)"'      # a string without escapes (JSON: no raw controls)

    def member(key: str, value: str) -> str:
        return f'{ws}"{key}"{ws}:{ws}{value}{ws}'

    details = r"\{" + ",".join(member(k, string) for k in COLUMNS[2:]) + r"\}"
    return re.compile(r"\{" + ",".join([member("time", string), member("type", string),
                                        member("details", details)]) + r"\}")


#: see :func:`_event_pattern` (json_array.decode_body takes such events from one match)
EVENT_PATTERN = _event_pattern()


def event_row(i: int, event: Any) -> Row:
    """The row of event #``i``, as the ``events`` translator makes it: a value of ``details``
    wins over a top-level one of the same name, a missing column is None, values are
    normalized (``normalize_value``)."""
    if type(event) is dict:
        details = event.get("details")
        if type(details) is dict and len(details) == len(COLUMNS) - 2:
            # the usual event: details holds exactly the four detail columns (so none of the
            # top-level ones), all of them plain values. One tuple built in place: with
            # Python objects on malloc, short-lived tuples freed between the rows' strings
            # leave holes that later allocations (encoding the stored table) land in, all
            # over the heap
            try:
                row = (event["time"], event["type"], details["hostname"], details["status"],
                       details["monitor"], details["monitor_event_id"])
            except KeyError:
                pass
            else:
                if _PLAIN.issuperset(map(type, row)):
                    return row
    return _event_row(i, event)


def _event_row(i: int, event: Any) -> Row:
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
        #: the last PUT body of the events table, decoded (see replace_table_json)
        self._last_body: json_array.Body | None = None
        #: the last such body committed, and the rows of the events table it made
        self._committed: tuple[json_array.Body, frozenset[Row]] | None = None
        #: one body at a time: a body decoded against the last one takes over its parts
        self._push_lock = threading.Lock()

    def replace_table_json(self, table: str, body: str) -> None:
        """``PUT .../tables/events/rows``: the events the body shares with the last one are
        neither decoded nor translated again (:func:`congress.datasources.json_array.
        decode_body`), so the work of a push that changes a few events of many is mostly
        finding them."""
        if table != "events":
            super().replace_table_json(table, body)
            return
        with self._push_lock, gcpause.paused():
            last, self._last_body = self._last_body, None     # decode_body may reuse its parts
            try:
                decoded = json_array.decode_body(body, event_row, last, pattern=EVENT_PATTERN)
            except Exception as e:
                self._last_body = last      # untouched by a decode that failed
                if isinstance(e, json_array.InvalidJson):
                    raise json_array.invalid_json(e) from None
                raise
            # a pure function of the text: valid whether the commit works or not
            self._last_body = decoded
            hints = None
            if decoded.added is not None and self._committed is not None \
                    and self._committed[0] is last \
                    and len(self._committed[1]) == len(last.values):
                # the change from the body whose rows are (perhaps still) held, each of its rows
                # from one event: what the commit needs to know, without passes over the table
                hints = {"events": (self._committed[1], decoded.added, decoded.removed)}
            self.commit({"events": decoded.values}, hints=hints)
            self._committed = (decoded, self.table_rows("events"))

    def translate_push(self, table: str, rows: Any) -> dict[str, set[Row]]:
        if table == "events" and type(rows) is list:
            return {"events": event_rows(rows)}     # checks each event too
        if table == "events":
            _check_events(rows)
        return super().translate_push(table, rows)
