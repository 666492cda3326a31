"""``heat``: OpenStack Orchestration (stacks, resources, events, software deployments).

Reads ``GET /stacks``, per stack ``/stacks/<name>/<id>/resources`` and ``.../events``, and
``/software_deployments``. The ``links`` of stacks, resources and events fill the ``*_links``
tables (keyed by the parent's id). Actions: ``stacks.delete`` over openstacksdk's orchestration
proxy (OpenStack Congress listed no heat actions).
"""

from __future__ import annotations

from typing import Any

from congress.datasources.declare import Collection, col, hdict
from congress.datasources.execution import ActionClient, namespace
from congress.datasources.openstack import OpenStackDriver, openstack_config


def _links(table: str, key: str) -> dict[str, Any]:
    return hdict(table, col("href"), col("rel"), parent_key=key, in_list=True)


STACKS = hdict("stacks",
    col("id"),
    col("stack_name"),
    col("description"),
    col("creation_time"),
    col("updated_time"),
    col("stack_status"),
    col("stack_status_reason"),
    col("stack_owner"),
    col("parent"),
    col("links", translator=_links("stacks_links", "id")))

RESOURCES = hdict("resources",
    col("physical_resource_id"),
    col("logical_resource_id"),
    col("stack_id"),
    col("resource_name"),
    col("resource_type"),
    col("creation_time"),
    col("updated_time"),
    col("resource_status"),
    col("resource_status_reason"),
    col("links",
        translator=_links("resources_links",
               "physical_resource_id")))

EVENTS = hdict("events",
    col("id"),
    col("physical_resource_id"),
    col("logical_resource_id"),
    col("stack_id"),
    col("resource_name"),
    col("event_time"),
    col("resource_status"),
    col("resource_status_reason"),
    col("links", translator=_links("events_links", "id")))

DEPLOYMENTS = hdict("deployments",
    col("status"),
    col("server_id"),
    col("config_id"),
    col("action"),
    col("status_reason"),
    col("id"),
    col("output_values", translator=hdict("deployment_output_values",
        col("deploy_stdout"),
        col("deploy_stderr"),
        col("deploy_status_code"),
        col("result"),
        parent_key="id")))


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
    COLLECTIONS = {
        "deployments": Collection("/software_deployments", "software_deployments"),
    }

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
