"""``nova``: OpenStack Compute (servers, flavors, services, hypervisors, availability zones).

Reads (microversion ``api_version``, default 2.26 so servers carry their tags):
``GET /servers/detail?all_tenants=1`` (every page), ``/flavors/detail``, ``/os-services``,
``/os-hypervisors/detail``, ``/os-availability-zone/detail``.

Actions: the wrapper ``servers_set_meta(server, k1, v1, ...)`` and the client actions below
(``servers.pause`` ...), which call openstacksdk's compute proxy.

Deviation: ``availability_zones.state`` is ``"True"``/``"False"`` (the zone's
``zoneState.available``); OpenStack Congress stored the text of the whole ``zoneState`` dict.
"""

from __future__ import annotations

from typing import Any

from congress.datasources.declare import Collection, col, hdict, values
from congress.datasources.driver import opt
from congress.datasources.execution import ActionClient, namespace, pairs_to_dict
from congress.datasources.openstack import OpenStackDriver, openstack_config, safe_id
from congress.datasources.translators import VALUE


def _flatten_addresses(addresses: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if not isinstance(addresses, dict):
        return out
    for network, addrs in addresses.items():
        for a in addrs or ():
            if isinstance(a, dict):
                out.append({**a, "network_name": network})
    return out


def _zone_available(state: Any) -> Any:
    if isinstance(state, dict):
        return state.get("available")
    return state


SERVERS = hdict("servers",
    col("id", "The UUID for the server"),
    col("name", "Name of the server"),
    col("hostId", "The UUID for the host", col="host_id"),
    col("status", "The server status"),
    col("tenant_id", "The tenant ID"),
    col("user_id", "The user ID of the user who owns the server"),
    col("image", "Name or ID of image", col="image_id",
        translator={"translation-type": VALUE, "extract-fn": safe_id}),
    col("flavor", "ID of the flavor", col="flavor_id",
        translator={"translation-type": VALUE, "extract-fn": safe_id}),
    col("OS-EXT-AZ:availability_zone", "The availability zone of host", col="zone"),
    col("OS-EXT-SRV-ATTR:hypervisor_hostname",
        "The hostname of hypervisor where the server is running", col="host_name"),
    col("created", "Time when the server was created", col="created_at"),
    col("addresses", translator=hdict("servers.addresses",
        col("network_name", "Name of attached network"),
        col("addr", "IP address", col="address"),
        col("version", "Internet Protocol Version of network"),
        col("OS-EXT-IPS-MAC:mac_addr", "MAC address associated to the IP of the server",
            col="mac_address"),
        col("OS-EXT-IPS:type", "IP address type", col="address_type"),
        parent_key="id", parent_col_name="server_id", parent_key_desc="UUID of server",
        in_list=True, objects_extract_fn=_flatten_addresses)),
    col("tags", translator=values(
        "tags", "tag", "server tag string",
        parent_key="id", parent_col_name="server_id", parent_key_desc="UUID of server")))

FLAVORS = hdict("flavors",
    col("id", "ID of the flavor"),
    col("name", "Name of the flavor"),
    col("vcpus", "Number of vcpus"),
    col("ram", "Memory size in MB"),
    col("disk", "Disk size in GB"),
    col("OS-FLV-EXT-DATA:ephemeral", "Ephemeral space size in GB", col="ephemeral"),
    col("rxtx_factor", "RX/TX factor"))

SERVICES = hdict("services",
    col("id", "Service ID", col="service_id"),
    col("binary", "Service binary"),
    col("host", "Host Name"),
    col("zone", "Availability Zone"),
    col("status", "Status of service"),
    col("state", "State of service"),
    col("updated_at", "Last updated time"),
    col("disabled_reason", "Disabled reason"))

HYPERVISORS = hdict("hypervisors",
    col("hypervisor_hostname", "Hypervisor host"),
    col("id", "hypervisor id"),
    col("state", "State of the hypervisor"),
    col("status", "Status of the hypervisor"))

AVAILABILITY_ZONES = hdict("availability_zones",
    col("zoneName", "Availability zone name", col="zone"),
    col("zoneState", "Availability zone state (available: True/False)", col="state",
        translator={"translation-type": VALUE, "extract-fn": _zone_available}))


class _Servers:
    def __init__(self, driver: NovaDriver) -> None:
        self.driver = driver

    @property
    def _compute(self) -> Any:
        return self.driver.proxy("compute")

    def pause(self, server: str) -> None:
        """Pause a server.

        :param server: ID of the server
        """
        self._compute.pause_server(server)

    def unpause(self, server: str) -> None:
        """Unpause a paused server.

        :param server: ID of the server
        """
        self._compute.unpause_server(server)

    def suspend(self, server: str) -> None:
        """Suspend a server.

        :param server: ID of the server
        """
        self._compute.suspend_server(server)

    def resume(self, server: str) -> None:
        """Resume a suspended server.

        :param server: ID of the server
        """
        self._compute.resume_server(server)

    def stop(self, server: str) -> None:
        """Stop (power off) a server.

        :param server: ID of the server
        """
        self._compute.stop_server(server)

    def start(self, server: str) -> None:
        """Start (power on) a stopped server.

        :param server: ID of the server
        """
        self._compute.start_server(server)

    def reboot(self, server: str, reboot_type: str = "SOFT") -> None:
        """Reboot a server.

        :param server: ID of the server
        :param reboot_type: SOFT or HARD
        """
        self._compute.reboot_server(server, reboot_type)

    def lock(self, server: str) -> None:
        """Lock a server (only admins may then act on it).

        :param server: ID of the server
        """
        self._compute.lock_server(server)

    def unlock(self, server: str) -> None:
        """Unlock a server.

        :param server: ID of the server
        """
        self._compute.unlock_server(server)

    def delete(self, server: str) -> None:
        """Delete a server.

        :param server: ID of the server
        """
        self._compute.delete_server(server, ignore_missing=False)

    def reset_state(self, server: str, state: str = "error") -> None:
        """Reset the state of a server (admin; the Doctor use case marks a failed host's
        servers as ``error``).

        :param server: ID of the server
        :param state: error or active
        """
        self.driver.send_json("POST", f"/servers/{server}/action",
                              {"os-resetState": {"state": str(state)}})

    def set_meta(self, server: str, metadata: dict[str, Any]) -> None:
        """Set metadata items of a server.

        :param server: ID of the server
        :param metadata: dict of metadata keys and values
        """
        self._compute.set_server_metadata(server, **metadata)


class _Services:
    def __init__(self, driver: NovaDriver) -> None:
        self.driver = driver

    def force_down(self, host: str, binary: str, force_down: Any = True) -> None:
        """Mark a compute service as forced down (or clear the mark), so servers on a failed
        host can be evacuated at once.

        :param host: host of the service
        :param binary: service binary, e.g. nova-compute
        :param force_down: True or False
        """
        forced = str(force_down).lower() in ("true", "1", "yes") \
            if not isinstance(force_down, bool) else force_down
        self.driver.send_json("PUT", "/os-services/force-down",
                              {"host": host, "binary": binary, "forced_down": forced},
                              microversion="2.11")


class NovaActions(ActionClient):
    servers = namespace(_Servers)
    services = namespace(_Services)


class NovaDriver(OpenStackDriver):
    DRIVER_ID = "nova"
    DESCRIPTION = "Datasource driver that interfaces with OpenStack Compute aka nova."
    CONFIG = openstack_config(api_version=opt(default="2.26",
                                              desc="Compute API microversion for reads"))
    PROXY = "compute"
    SERVICE_TYPE = "compute"
    TRANSLATORS = [SERVERS, FLAVORS, SERVICES, HYPERVISORS, AVAILABILITY_ZONES]
    ACTION_CLIENT = NovaActions
    COLLECTIONS = {
        "servers": Collection("/servers/detail", "servers", {"all_tenants": 1}),
        "flavors": Collection("/flavors/detail", "flavors"),
        "services": Collection("/os-services", "services"),
        "hypervisors": Collection("/os-hypervisors/detail", "hypervisors"),
        "availability_zones": Collection("/os-availability-zone/detail", "availabilityZoneInfo"),
    }
    ACTIONS = [{"name": "servers_set_meta",
                "args": [{"name": "server", "description": "server id"},
                         {"name": "meta-key1", "description": "meta key 1"},
                         {"name": "meta-value1", "description": "value for meta key1"},
                         {"name": "meta-keyN", "description": "meta key N"},
                         {"name": "meta-valueN", "description": "value for meta keyN"}],
                "description": "A wrapper for servers.set_meta()"}]

    def read_microversion(self) -> str:
        return self.config.get("api_version") or "2.26"

    # ------------------------------------------------------------------ wrapper actions
    def servers_set_meta(self, args: dict[str, Any]) -> None:
        positional = list(args.get("positional") or [])
        if not positional:
            raise ValueError("servers_set_meta needs a server id and key/value pairs")
        server = positional.pop(0)
        metadata = pairs_to_dict(positional)
        self.action_client().servers.set_meta(server, metadata)
