"""Tables and rows of policies (-> ``__engine``) and of datasources (-> the datasource's own
service, after ``_ds_manager.resolve``):

``(/v1/policies/{policy_id}|/v1/data-sources/{ds_id})/tables[/{table_id}[/rows[/{row_id}]]]``
and ``/v1/data-sources/{ds_id}/tables/{table_id}/spec``.

Deliberate differences from OpenStack Congress (doc/api.md §Policy tables and rows):

* ``PUT .../rows`` on a *policy* table is 501 (policy tables are derived from rules; OpenStack
  Congress forwarded it to the engine, which had no such method). The PUT body must be a JSON
  array.
* Row elements (``.../rows/{row_id}``) support nothing: 501 for every method, as before.
* A datasource segment may be a name or a UUID everywhere (resolved by ``_ds_manager``).
* Rows can be read in pages: ``GET .../rows?limit=N`` answers the first ``N`` rows and, when
  more remain, ``"next_marker": "<m>"``; ``?limit=N&marker=<m>`` answers the next page. With
  ``max_rows_per_read`` set, no answer holds more rows than that (a read without ``limit``
  gets the first page and its ``next_marker``). Pages follow the table's order, which holds
  while the table does not change (the ``X-Congress-*-Revision`` headers say whether it did).
"""

from __future__ import annotations

import contextlib
from typing import Any

import falcon

from congress import gcpause
from congress.api import parsing
from congress.api.base import Resource, send_collection, send_empty, send_item
from congress.api.errors import ApiError, NotFoundError
from congress.datasources import json_array
from congress.exceptions import BadRequest, PolicyNotFound

#: bytes from which a pushed body is handled as bulk work (:meth:`DatasourceRows.on_put`)
BULK_BODY = 1 << 20


def _table_list(names: Any) -> Any:
    if isinstance(names, (list, tuple)):
        return [n if isinstance(n, dict) else {"id": n} for n in names]
    return names


def _contains(names: Any, table_id: str) -> bool:
    return any((n.get("id") if isinstance(n, dict) else n) == table_id for n in names or ())


def _page(req: falcon.Request, result: Any, cap: int) -> Any:
    """The page of ``result`` (``{"results": [...]}``) that ``limit`` / ``marker`` ask for."""
    limit_text = parsing.query_value(req, "limit")
    marker_text = parsing.query_value(req, "marker")
    if (limit_text is None and marker_text is None and not cap) \
            or not isinstance(result, dict) or result.get("results") is None:
        return result
    limit = cap or None
    if limit_text is not None:
        if not limit_text.isdigit() or int(limit_text) < 1:
            raise BadRequest("Query parameter 'limit' must be a positive integer")
        limit = min(int(limit_text), cap) if cap else int(limit_text)
    start = 0
    if marker_text is not None:
        if not marker_text.isdigit():
            raise BadRequest("Query parameter 'marker' must be a 'next_marker' of an earlier "
                             "page")
        start = int(marker_text)
    rows = result.get("results") or []
    end = len(rows) if limit is None else start + limit
    page = {**result, "results": list(rows[start:end])}
    if end < len(rows):
        page["next_marker"] = str(end)
    return page


def _rows(result: Any) -> Any:
    """``{"results": [{"data": [...]}, ...]}`` from a rows answer (dict or list of rows)."""
    if isinstance(result, (list, tuple)):
        return {"results": [r if isinstance(r, dict) else {"data": list(r)} for r in result]}
    return result


# --------------------------------------------------------------------------- policies
class PolicyTables(Resource):
    """``/v1/policies/{policy_id}/tables``"""

    def on_get(self, req: falcon.Request, resp: falcon.Response, policy_id: str) -> None:
        try:
            names = self.engine.list_tables(policy_id)
        except PolicyNotFound as e:          # a plain 404 "Not found", as clients expect here
            raise NotFoundError() from e
        send_collection(resp, _table_list(names))


class PolicyTable(Resource):
    """``/v1/policies/{policy_id}/tables/{table_id}``"""

    def on_get(self, req: falcon.Request, resp: falcon.Response, policy_id: str,
               table_id: str) -> None:
        try:
            names = self.engine.list_tables(policy_id)
        except PolicyNotFound as e:
            raise NotFoundError() from e
        send_item(resp, {"id": table_id} if _contains(names, table_id) else None)


class PolicyRows(Resource):
    """``/v1/policies/{policy_id}/tables/{table_id}/rows[?trace=true]``"""

    def on_get(self, req: falcon.Request, resp: falcon.Response, policy_id: str,
               table_id: str) -> None:
        trace = parsing.flag_true(req, "trace")
        result = _rows(self.engine.get_rows(policy_id, table_id, trace=trace))
        if trace and isinstance(result, dict) and not result.get("trace"):
            result = {**result, "trace": "Not available"}
        send_collection(resp, _page(req, result, self.state.conf.max_rows_per_read))


class PolicyRow(Resource):
    """``/v1/policies/{policy_id}/tables/{table_id}/rows/{row_id}``: nothing supported."""


# --------------------------------------------------------------------------- datasources
class DatasourceTables(Resource):
    """``/v1/data-sources/{ds_id}/tables``: every table of the driver's schema."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, ds_id: str) -> None:
        service = self.datasource_name(ds_id)
        send_collection(resp, _table_list(self.call(service, "list_tables")))


class DatasourceTable(Resource):
    """``/v1/data-sources/{ds_id}/tables/{table_id}``"""

    def on_get(self, req: falcon.Request, resp: falcon.Response, ds_id: str,
               table_id: str) -> None:
        names = self.call(self.datasource_name(ds_id), "list_tables")
        send_item(resp, {"id": table_id} if _contains(names, table_id) else None)


class DatasourceTableSpec(Resource):
    """``/v1/data-sources/{ds_id}/tables/{table_id}/spec``: ``{"table_id", "columns"}``"""

    def on_get(self, req: falcon.Request, resp: falcon.Response, ds_id: str,
               table_id: str) -> None:
        send_item(resp, self.call(self.datasource_name(ds_id), "get_table_spec",
                                  table=table_id))


class DatasourceRows(Resource):
    """``/v1/data-sources/{ds_id}/tables/{table_id}/rows``: GET rows, PUT replaces the table
    (push drivers)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, ds_id: str,
               table_id: str) -> None:
        service = self.datasource_name(ds_id)
        send_collection(resp, _page(req, _rows(self.call(service, "get_rows", table=table_id)),
                                    self.state.conf.max_rows_per_read))

    def on_put(self, req: falcon.Request, resp: falcon.Response, ds_id: str,
               table_id: str) -> None:
        # a big body is bulk work from reading it on: the malloc trimmer, which holds
        # malloc's lock while it walks the free lists, waits meanwhile
        # (congress.cmd.allocator), and the collector too (congress.gcpause)
        big = (req.content_length or 0) >= BULK_BODY
        with gcpause.paused() if big else contextlib.nullcontext():
            self._put(req, resp, ds_id, table_id)

    def _put(self, req: falcon.Request, resp: falcon.Response, ds_id: str,
             table_id: str) -> None:
        # An array goes to the datasource as text: it decodes it element by element (a big
        # body does not stop the server for the length of one json.loads) and may skip the
        # elements it had in the last body (congress.datasources.json_array).
        text = parsing.json_text(req, self.state.body_limit)
        if not json_array.is_array(text):
            self.json_body(req)         # text that is not JSON: its parse error
            raise BadRequest("The request body must be a JSON array of rows")
        service = self.datasource_name(ds_id)
        try:
            self.call(service, "replace_table_json", table=table_id, body=text)
        except BadRequest as e:
            if e.code == json_array.INVALID_JSON:
                raise ApiError(400, e.message) from None
            if e.message.startswith("Method replace_table_json not supported"):
                # a datasource node of an earlier version (during a rolling upgrade)
                self.call(service, "replace_table", table=table_id, rows=self.json_body(req))
            else:
                raise
        self.wait_until_visible(service)
        send_empty(resp)


class DatasourceRow(Resource):
    """``/v1/data-sources/{ds_id}/tables/{table_id}/rows/{row_id}``: nothing supported."""

