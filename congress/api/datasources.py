"""``/v1/data-sources`` and its sub-resources.

Create, delete, list and get go to ``_ds_manager``; every sub-resource (status, schema, actions,
webhook, ``?action=request-refresh|execute``) first asks ``_ds_manager.resolve(ds=...)`` for the
datasource's name and then calls that datasource's own service (service id = name).

Deliberate differences from OpenStack Congress (doc/api.md §Data sources):

* Secrets are masked everywhere: the config values of the driver's ``secret`` fields read
  ``"<hidden>"`` in the list, in ``GET /v1/data-sources/<id>`` and in the 201 answer of a create
  (OpenStack Congress echoed them in clear text outside the list). The API asks
  ``_ds_manager.get_driver`` for the secret fields; when that fails, every config value is hidden.
* ``DELETE`` of an unknown datasource answers HTTP **404** (OpenStack Congress: HTTP 400 carrying
  error_code 404).
* ``?action=execute`` accepts the datasource's name or UUID (OpenStack Congress required the name)
  and calls the datasource service's ``request_execute`` with ``requested_by`` = this node; a
  missing or non-string ``name`` is 400 (OpenStack Congress failed later), bad ``args`` are
  400/1018.
* ``GET .../actions`` of a driver without actions is whatever the service raises (OpenStack
  Congress answered 500 from an AttributeError).
* The create body is checked: ``name`` and ``driver`` required strings, ``config`` an object of
  scalar values, ``description`` a string or null, ``enabled`` a boolean, ``type`` a string or
  null; other fields are 400.
* Error messages carry the reason-phrase prefix of every mapped error
  (``Not Found::Datasource not found x``); OpenStack Congress sent some of them bare.
"""

from __future__ import annotations

import logging
from typing import Any

import falcon

from congress.api import validation
from congress.api.base import (
    Resource,
    requester,
    send_collection,
    send_created,
    send_empty,
    send_item,
    send_json,
)
from congress.bus.service_ids import DS_MANAGER
from congress.exceptions import BadRequest, CongressError

LOG = logging.getLogger(__name__)
HIDDEN = "<hidden>"

_CREATE_FIELDS = frozenset({"name", "driver", "config", "description", "enabled", "type"})
_EXECUTE_FIELDS = frozenset({"name", "args"})


class _SecretMasker:
    """Hides the driver's secret config values; one ``get_driver`` per driver and request."""

    def __init__(self, resource: Resource) -> None:
        self._resource = resource
        self._secrets: dict[str, set[str] | None] = {}

    def _secret_fields(self, driver: Any) -> set[str] | None:
        if not isinstance(driver, str):
            return None
        if driver not in self._secrets:
            try:
                info = self._resource.call(DS_MANAGER, "get_driver", driver_id=driver)
                self._secrets[driver] = set((info or {}).get("secret") or ())
            except CongressError:
                self._secrets[driver] = None          # unknown: hide everything
        return self._secrets[driver]

    def mask(self, ds: Any) -> Any:
        if not isinstance(ds, dict) or not isinstance(ds.get("config"), dict):
            return ds
        secrets = self._secret_fields(ds.get("driver"))
        config = {k: (HIDDEN if (secrets is None or k in secrets) and v is not None else v)
                  for k, v in ds["config"].items()}
        return {**ds, "config": config}


class Datasources(Resource):
    """``/v1/data-sources``"""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        result = self.call(DS_MANAGER, "list_datasources")
        if isinstance(result, (list, tuple)):
            masker = _SecretMasker(self)
            result = [masker.mask(ds) for ds in result]
        send_collection(resp, result)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = validation.require_object(self.json_body(req))
        validation.reject_unknown(body, _CREATE_FIELDS)
        validation.required_str(body, "name")
        validation.required_str(body, "driver")
        config = validation.optional_object(body, "config")
        for key, value in (config or {}).items():
            if value is not None and not isinstance(value, (str, int, float, bool)):
                raise BadRequest(f"Field 'config' value of '{key}' must be a string, "
                                 "number or boolean")
        validation.optional_str(body, "description")
        validation.optional_str(body, "type")
        validation.optional_bool(body, "enabled")
        created = self.call(DS_MANAGER, "create_datasource", body=body)
        _refresh_local_engine(self)
        send_created(req, resp, _SecretMasker(self).mask(created))


def _refresh_local_engine(res: Resource) -> None:
    """Make this node's policy engine load a datasource just created or deleted before the
    client hears back (the bus notice reaches it, and every other engine, a moment later).
    Best effort: the notice and the periodic sync are the guarantee."""
    engine = getattr(res.state.backend, "engine", None)
    if engine is None:
        return
    try:
        engine.refresh_datasources()
    except Exception:
        LOG.warning("could not refresh the local engine's datasources", exc_info=True)


class Datasource(Resource):
    """``/v1/data-sources/{ds_id}`` (+ ``?action=request-refresh|execute``)"""

    def on_get(self, req: falcon.Request, resp: falcon.Response, ds_id: str) -> None:
        ds = self.call(DS_MANAGER, "get_datasource", ds=ds_id)
        send_item(resp, _SecretMasker(self).mask(ds))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, ds_id: str) -> None:
        self.call(DS_MANAGER, "delete_datasource", ds=ds_id)
        _refresh_local_engine(self)
        send_json(resp, None)

    def on_post(self, req: falcon.Request, resp: falcon.Response, ds_id: str) -> None:
        self.dispatch_action(req, resp, ds_id=ds_id)

    def action_request_refresh(self, req: falcon.Request, ds_id: str) -> Any:
        self.call(self.datasource_name(ds_id), "request_refresh")
        return None

    def action_execute(self, req: falcon.Request, ds_id: str) -> Any:
        body = validation.require_object(self.json_body(req))
        action = validation.required_str(body, "name")
        args = validation.check_execute_args(body.get("args"))
        validation.reject_unknown(body, _EXECUTE_FIELDS)
        service = self.datasource_name(ds_id)
        self.call(service, "request_execute", action=action, args=args,
                  requested_by=requester(req, self.backend))
        return {}


class DatasourceStatus(Resource):
    """``/v1/data-sources/{ds_id}/status``"""

    def on_get(self, req: falcon.Request, resp: falcon.Response, ds_id: str) -> None:
        send_item(resp, self.call(self.datasource_name(ds_id), "get_status"))


class DatasourceSchema(Resource):
    """``/v1/data-sources/{ds_id}/schema``: ``{"tables": [{"table_id", "columns"}, ...]}``"""

    def on_get(self, req: falcon.Request, resp: falcon.Response, ds_id: str) -> None:
        schema = self.call(self.datasource_name(ds_id), "get_schema")
        if isinstance(schema, (list, tuple)):
            schema = {"tables": list(schema)}
        send_item(resp, schema)


class DatasourceActions(Resource):
    """``/v1/data-sources/{ds_id}/actions``: the driver's actions, sorted by name."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, ds_id: str) -> None:
        actions = self.call(self.datasource_name(ds_id), "get_actions")
        if isinstance(actions, dict) and isinstance(actions.get("results"), list):
            actions = {**actions, "results": _by_name(actions["results"])}
        elif isinstance(actions, (list, tuple)):
            actions = _by_name(actions)
        send_collection(resp, actions)


def _by_name(actions: Any) -> list[Any]:
    return sorted(actions, key=lambda a: str(a.get("name", "")) if isinstance(a, dict) else "")


class DatasourceWebhook(Resource):
    """``/v1/data-sources/{ds_id}/webhook``: any JSON, 200 with an empty body."""

    def on_post(self, req: falcon.Request, resp: falcon.Response, ds_id: str) -> None:
        payload = self.json_body(req)
        service = self.datasource_name(ds_id)
        self.call(service, "webhook", payload=payload)
        self.wait_until_visible(service)
        send_empty(resp)


class DatasourceTableWebhook(Resource):
    """``/v1/data-sources/{ds_id}/tables/{table_id}/webhook`` (only with
    ``[json_ingester] enable``): any JSON, 200 with an empty body."""

    def on_post(self, req: falcon.Request, resp: falcon.Response, ds_id: str,
                table_id: str) -> None:
        payload = self.json_body(req)
        service = self.datasource_name(ds_id)
        self.call(service, "webhook", payload=payload, table=table_id)
        self.wait_until_visible(service)
        send_empty(resp)
