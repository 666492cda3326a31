"""``ironic``: OpenStack Bare Metal (nodes and their properties, ports, chassis, drivers).

Reads ``GET /v1/nodes/detail``, ``/v1/ports/detail``, ``/v1/chassis/detail``,
``/v1/drivers``. Actions: ironicclient-style ``node.*`` methods over openstacksdk's baremetal
proxy.
"""

from __future__ import annotations

from typing import Any

from congress.datasources.declare import Collection, col, hdict, values
from congress.datasources.execution import ActionClient, namespace
from congress.datasources.openstack import OpenStackDriver, openstack_config
from congress.datasources.translators import VALUE


def _vif_port_id(extra: Any) -> Any:
    if isinstance(extra, dict):
        return extra.get("vif_port_id", "")
    return ""


CHASSISES = hdict("chassises",
    col("uuid", col="id"),
    col("created_at"),
    col("updated_at"))

NODES = hdict("nodes",
    col("uuid", "UUID of the node", col="id"),
    col("chassis_uuid", "UUID of the chassis of the node", col="owner_chassis"),
    col("power_state", "Power state of the node"),
    col("maintenance", "Whether the node is in maintenance mode"),
    col("properties", translator=hdict("node_properties",
        col("memory_mb"),
        col("cpu_arch"),
        col("local_gb"),
        col("cpus"),
        parent_key="id", parent_col_name="properties")),
    col("driver"),
    col("instance_uuid", col="running_instance"),
    col("created_at"),
    col("provision_updated_at"),
    col("updated_at"))

PORTS = hdict("ports",
    col("uuid", col="id"),
    col("node_uuid", col="owner_node"),
    col("address", col="mac_address"),
    col("extra", col="vif_port_id",
        translator={"translation-type": VALUE, "extract-fn": _vif_port_id}),
    col("created_at"),
    col("updated_at"))

DRIVERS = hdict("drivers",
    col("name"),
    col("hosts", translator=values(
        "active_hosts", "hosts",
        parent_key="name", parent_col_name="name")))


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
    COLLECTIONS = {
        "chassises": Collection("/chassis/detail", "chassis"),
        "nodes": Collection("/nodes/detail", "nodes"),
        "ports": Collection("/ports/detail", "ports"),
        "drivers": Collection("/drivers", "drivers"),
    }
