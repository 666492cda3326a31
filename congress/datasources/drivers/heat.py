"""``heat``: OpenStack Orchestration (stacks, resources, events, software deployments).

Reads ``GET /stacks``, per stack ``/stacks/<name>/<id>/resources`` and ``.../events``, and
``/software_deployments``. The ``links`` of stacks, resources and events fill the ``*_links``
tables (keyed by the parent's id). Actions: ``stacks.delete`` over openstacksdk's orchestration
proxy (the original listed no heat actions).
"""

from __future__ import annotations

from typing import Any

from congress.datasources.execution import ActionClient, namespace
from congress.datasources.openstack import OpenStackDriver, openstack_config
from congress.datasources.translators import DICT_SELECTOR, HDICT, VALUE

V = {"translation-type": VALUE}


def _links(table: str, key: str) -> dict[str, Any]:
    return {"translation-type": HDICT, "table-name": table, "parent-key": key,
            "selector-type": DICT_SELECTOR, "in-list": True,
            "field-translators": ({"fieldname": "href", "translator": V},
                                  {"fieldname": "rel", "translator": V})}


STACKS = {
    "translation-type": HDICT, "table-name": "stacks", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "id", "translator": V},
        {"fieldname": "stack_name", "translator": V},
        {"fieldname": "description", "translator": V},
        {"fieldname": "creation_time", "translator": V},
        {"fieldname": "updated_time", "translator": V},
        {"fieldname": "stack_status", "translator": V},
        {"fieldname": "stack_status_reason", "translator": V},
        {"fieldname": "stack_owner", "translator": V},
        {"fieldname": "parent", "translator": V},
        {"fieldname": "links", "translator": _links("stacks_links", "id")},
    )}

RESOURCES = {
    "translation-type": HDICT, "table-name": "resources", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "physical_resource_id", "translator": V},
        {"fieldname": "logical_resource_id", "translator": V},
        {"fieldname": "stack_id", "translator": V},
        {"fieldname": "resource_name", "translator": V},
        {"fieldname": "resource_type", "translator": V},
        {"fieldname": "creation_time", "translator": V},
        {"fieldname": "updated_time", "translator": V},
        {"fieldname": "resource_status", "translator": V},
        {"fieldname": "resource_status_reason", "translator": V},
        {"fieldname": "links", "translator": _links("resources_links",
                                                    "physical_resource_id")},
    )}

EVENTS = {
    "translation-type": HDICT, "table-name": "events", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "id", "translator": V},
        {"fieldname": "physical_resource_id", "translator": V},
        {"fieldname": "logical_resource_id", "translator": V},
        {"fieldname": "stack_id", "translator": V},
        {"fieldname": "resource_name", "translator": V},
        {"fieldname": "event_time", "translator": V},
        {"fieldname": "resource_status", "translator": V},
        {"fieldname": "resource_status_reason", "translator": V},
        {"fieldname": "links", "translator": _links("events_links", "id")},
    )}

DEPLOYMENTS = {
    "translation-type": HDICT, "table-name": "deployments", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "status", "translator": V},
        {"fieldname": "server_id", "translator": V},
        {"fieldname": "config_id", "translator": V},
        {"fieldname": "action", "translator": V},
        {"fieldname": "status_reason", "translator": V},
        {"fieldname": "id", "translator": V},
        {"fieldname": "output_values",
         "translator": {
             "translation-type": HDICT, "table-name": "deployment_output_values",
             "parent-key": "id", "selector-type": DICT_SELECTOR,
             "field-translators": (
                 {"fieldname": "deploy_stdout", "translator": V},
                 {"fieldname": "deploy_stderr", "translator": V},
                 {"fieldname": "deploy_status_code", "translator": V},
                 {"fieldname": "result", "translator": V})}},
    )}


class _Stacks:
    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def delete(self, stack: str) -> None:
        """Delete a stack.

        :param stack: ID of the stack
        """
        self.driver.proxy("orchestration").delete_stack(stack, ignore_missing=False)


class HeatActions(ActionClient):
    stacks = namespace(_Stacks)


class HeatV1Driver(OpenStackDriver):
    DRIVER_ID = "heat"
    DESCRIPTION = "Datasource driver that interfaces with OpenStack orchestration aka heat."
    CONFIG = openstack_config()
    PROXY = "orchestration"
    SERVICE_TYPE = "orchestration"
    TRANSLATORS = [STACKS, RESOURCES, EVENTS, DEPLOYMENTS]
    ACTION_CLIENT = HeatActions

    def _stacks(self) -> list[dict[str, Any]]:
        stacks = self.poll_cache.get("stacks")
        if stacks is None:
            stacks = self.poll_cache["stacks"] = self.list_json("/stacks", "stacks")
        return stacks

    def fetch_stacks(self) -> list[Any]:
        return self._stacks()

    def _per_stack(self, what: str) -> list[Any]:
        out: list[Any] = []
        for stack in self._stacks():
            items = self.list_json(f"/stacks/{stack['stack_name']}/{stack['id']}/{what}", what)
            for item in items:
                if isinstance(item, dict):
                    out.append({**item, "stack_id": stack["id"]})
        return out

    def fetch_resources(self) -> list[Any]:
        return self._per_stack("resources")

    def fetch_events(self) -> list[Any]:
        return self._per_stack("events")

    def fetch_deployments(self) -> list[Any]:
        return self.list_json("/software_deployments", "software_deployments")
