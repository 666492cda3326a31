"""``ironic``: OpenStack Bare Metal (nodes and their properties, ports, chassis, drivers).

Reads ``GET /v1/nodes/detail``, ``/v1/ports/detail``, ``/v1/chassis/detail``,
``/v1/drivers``. Actions: ironicclient-style ``node.*`` methods over openstacksdk's baremetal
proxy.
"""

from __future__ import annotations

from typing import Any

from congress.datasources.execution import ActionClient, namespace
from congress.datasources.openstack import OpenStackDriver, openstack_config
from congress.datasources.translators import DICT_SELECTOR, HDICT, LIST, VALUE

V = {"translation-type": VALUE}


def _vif_port_id(extra: Any) -> Any:
    if isinstance(extra, dict):
        return extra.get("vif_port_id", "")
    return ""


CHASSISES = {
    "translation-type": HDICT, "table-name": "chassises", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "uuid", "col": "id", "translator": V},
        {"fieldname": "created_at", "translator": V},
        {"fieldname": "updated_at", "translator": V},
    )}

NODES = {
    "translation-type": HDICT, "table-name": "nodes", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "uuid", "col": "id", "desc": "UUID of the node", "translator": V},
        {"fieldname": "chassis_uuid", "col": "owner_chassis",
         "desc": "UUID of the chassis of the node", "translator": V},
        {"fieldname": "power_state", "desc": "Power state of the node", "translator": V},
        {"fieldname": "maintenance", "desc": "Whether the node is in maintenance mode",
         "translator": V},
        {"fieldname": "properties",
         "translator": {
             "translation-type": HDICT, "table-name": "node_properties",
             "parent-key": "id", "parent-col-name": "properties",
             "selector-type": DICT_SELECTOR,
             "field-translators": (
                 {"fieldname": "memory_mb", "translator": V},
                 {"fieldname": "cpu_arch", "translator": V},
                 {"fieldname": "local_gb", "translator": V},
                 {"fieldname": "cpus", "translator": V})}},
        {"fieldname": "driver", "translator": V},
        {"fieldname": "instance_uuid", "col": "running_instance", "translator": V},
        {"fieldname": "created_at", "translator": V},
        {"fieldname": "provision_updated_at", "translator": V},
        {"fieldname": "updated_at", "translator": V},
    )}

PORTS = {
    "translation-type": HDICT, "table-name": "ports", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "uuid", "col": "id", "translator": V},
        {"fieldname": "node_uuid", "col": "owner_node", "translator": V},
        {"fieldname": "address", "col": "mac_address", "translator": V},
        {"fieldname": "extra", "col": "vif_port_id",
         "translator": {"translation-type": VALUE, "extract-fn": _vif_port_id}},
        {"fieldname": "created_at", "translator": V},
        {"fieldname": "updated_at", "translator": V},
    )}

DRIVERS = {
    "translation-type": HDICT, "table-name": "drivers", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "name", "translator": V},
        {"fieldname": "hosts",
         "translator": {"translation-type": LIST, "table-name": "active_hosts",
                        "parent-key": "name", "parent-col-name": "name",
                        "val-col": "hosts", "translator": V}},
    )}


class _Node:
    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def set_maintenance(self, node: str, state: Any, maint_reason: str | None = None) -> None:
        """Put a node into (state true) or take it out of (false) maintenance mode.

        :param node: UUID of the node
        :param state: true or false
        :param maint_reason: reason for entering maintenance
        """
        baremetal = self.driver.proxy("baremetal")
        if str(state).lower() in ("true", "1", "on"):
            baremetal.set_node_maintenance(node, reason=maint_reason)
        else:
            baremetal.unset_node_maintenance(node)

    def set_power_state(self, node: str, state: str) -> None:
        """Set the power state of a node.

        :param node: UUID of the node
        :param state: on, off or reboot
        """
        target = {"on": "power on", "off": "power off", "reboot": "rebooting"}.get(state, state)
        self.driver.proxy("baremetal").set_node_power_state(node, target)


class IronicActions(ActionClient):
    node = namespace(_Node)


class IronicDriver(OpenStackDriver):
    DRIVER_ID = "ironic"
    DESCRIPTION = "Datasource driver that interfaces with OpenStack bare metal aka ironic."
    CONFIG = openstack_config()
    PROXY = "baremetal"
    SERVICE_TYPE = "baremetal"
    MICROVERSION = "1.31"
    TRANSLATORS = [NODES, PORTS, CHASSISES, DRIVERS]
    ACTION_CLIENT = IronicActions

    def fetch_chassises(self) -> list[Any]:
        return self.list_json("/chassis/detail", "chassis")

    def fetch_nodes(self) -> list[Any]:
        return self.list_json("/nodes/detail", "nodes")

    def fetch_ports(self) -> list[Any]:
        return self.list_json("/ports/detail", "ports")

    def fetch_drivers(self) -> list[Any]:
        return self.list_json("/drivers", "drivers")
