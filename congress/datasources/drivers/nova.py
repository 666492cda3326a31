"""``nova``: OpenStack Compute (servers, flavors, services, hypervisors, availability zones).

Reads (microversion ``api_version``, default 2.26 so servers carry their tags):
``GET /servers/detail?all_tenants=1`` (every page), ``/flavors/detail``, ``/os-services``,
``/os-hypervisors/detail``, ``/os-availability-zone/detail``.

Actions: the wrapper ``servers_set_meta(server, k1, v1, ...)`` and the client actions below
(``servers.pause`` ...), which call openstacksdk's compute proxy.

Deviation: ``availability_zones.state`` is ``"True"``/``"False"`` (the zone's
``zoneState.available``); the original stored the text of the whole ``zoneState`` dict.
"""

from __future__ import annotations

from typing import Any

from congress.datasources.driver import opt
from congress.datasources.execution import ActionClient, namespace, pairs_to_dict
from congress.datasources.openstack import OpenStackDriver, openstack_config, safe_id
from congress.datasources.translators import DICT_SELECTOR, HDICT, LIST, VALUE

V = {"translation-type": VALUE}


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


SERVERS = {
    "translation-type": HDICT, "table-name": "servers", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "id", "desc": "The UUID for the server", "translator": V},
        {"fieldname": "name", "desc": "Name of the server", "translator": V},
        {"fieldname": "hostId", "col": "host_id", "desc": "The UUID for the host",
         "translator": V},
        {"fieldname": "status", "desc": "The server status", "translator": V},
        {"fieldname": "tenant_id", "desc": "The tenant ID", "translator": V},
        {"fieldname": "user_id", "desc": "The user ID of the user who owns the server",
         "translator": V},
        {"fieldname": "image", "col": "image_id", "desc": "Name or ID of image",
         "translator": {"translation-type": VALUE, "extract-fn": safe_id}},
        {"fieldname": "flavor", "col": "flavor_id", "desc": "ID of the flavor",
         "translator": {"translation-type": VALUE, "extract-fn": safe_id}},
        {"fieldname": "OS-EXT-AZ:availability_zone", "col": "zone",
         "desc": "The availability zone of host", "translator": V},
        {"fieldname": "OS-EXT-SRV-ATTR:hypervisor_hostname", "col": "host_name",
         "desc": "The hostname of hypervisor where the server is running", "translator": V},
        {"fieldname": "created", "col": "created_at", "desc": "Time when the server was created",
         "translator": V},
        {"fieldname": "addresses",
         "translator": {
             "translation-type": HDICT, "table-name": "servers.addresses",
             "parent-key": "id", "parent-col-name": "server_id",
             "parent-key-desc": "UUID of server", "selector-type": DICT_SELECTOR,
             "in-list": True, "objects-extract-fn": _flatten_addresses,
             "field-translators": (
                 {"fieldname": "network_name", "desc": "Name of attached network",
                  "translator": V},
                 {"fieldname": "addr", "col": "address", "desc": "IP address",
                  "translator": V},
                 {"fieldname": "version", "desc": "Internet Protocol Version of network",
                  "translator": V},
                 {"fieldname": "OS-EXT-IPS-MAC:mac_addr", "col": "mac_address",
                  "desc": "MAC address associated to the IP of the server", "translator": V},
                 {"fieldname": "OS-EXT-IPS:type", "col": "address_type",
                  "desc": "IP address type", "translator": V})}},
        {"fieldname": "tags",
         "translator": {"translation-type": LIST, "table-name": "tags",
                        "parent-key": "id", "parent-col-name": "server_id",
                        "parent-key-desc": "UUID of server", "val-col": "tag",
                        "val-col-desc": "server tag string", "translator": V}},
    )}

FLAVORS = {
    "translation-type": HDICT, "table-name": "flavors", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "id", "desc": "ID of the flavor", "translator": V},
        {"fieldname": "name", "desc": "Name of the flavor", "translator": V},
        {"fieldname": "vcpus", "desc": "Number of vcpus", "translator": V},
        {"fieldname": "ram", "desc": "Memory size in MB", "translator": V},
        {"fieldname": "disk", "desc": "Disk size in GB", "translator": V},
        {"fieldname": "OS-FLV-EXT-DATA:ephemeral", "col": "ephemeral",
         "desc": "Ephemeral space size in GB", "translator": V},
        {"fieldname": "rxtx_factor", "desc": "RX/TX factor", "translator": V},
    )}

SERVICES = {
    "translation-type": HDICT, "table-name": "services", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "id", "col": "service_id", "desc": "Service ID", "translator": V},
        {"fieldname": "binary", "desc": "Service binary", "translator": V},
        {"fieldname": "host", "desc": "Host Name", "translator": V},
        {"fieldname": "zone", "desc": "Availability Zone", "translator": V},
        {"fieldname": "status", "desc": "Status of service", "translator": V},
        {"fieldname": "state", "desc": "State of service", "translator": V},
        {"fieldname": "updated_at", "desc": "Last updated time", "translator": V},
        {"fieldname": "disabled_reason", "desc": "Disabled reason", "translator": V},
    )}

HYPERVISORS = {
    "translation-type": HDICT, "table-name": "hypervisors", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "hypervisor_hostname", "desc": "Hypervisor host", "translator": V},
        {"fieldname": "id", "desc": "hypervisor id", "translator": V},
        {"fieldname": "state", "desc": "State of the hypervisor", "translator": V},
        {"fieldname": "status", "desc": "Status of the hypervisor", "translator": V},
    )}

AVAILABILITY_ZONES = {
    "translation-type": HDICT, "table-name": "availability_zones",
    "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "zoneName", "col": "zone", "desc": "Availability zone name",
         "translator": V},
        {"fieldname": "zoneState", "col": "state",
         "desc": "Availability zone state (available: True/False)",
         "translator": {"translation-type": VALUE, "extract-fn": _zone_available}},
    )}


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
    ACTIONS = [{"name": "servers_set_meta",
                "args": [{"name": "server", "description": "server id"},
                         {"name": "meta-key1", "description": "meta key 1"},
                         {"name": "meta-value1", "description": "value for meta key1"},
                         {"name": "meta-keyN", "description": "meta key N"},
                         {"name": "meta-valueN", "description": "value for meta keyN"}],
                "description": "A wrapper for servers.set_meta()"}]

    @property
    def microversion(self) -> str:
        return self.config.get("api_version") or "2.26"

    def fetch_servers(self) -> list[Any]:
        servers = self.list_json("/servers/detail", "servers", params={"all_tenants": 1},
                                 microversion=self.microversion)
        return servers

    def fetch_flavors(self) -> list[Any]:
        return self.list_json("/flavors/detail", "flavors", microversion=self.microversion)

    def fetch_services(self) -> list[Any]:
        return self.list_json("/os-services", "services", microversion=self.microversion)

    def fetch_hypervisors(self) -> list[Any]:
        return self.list_json("/os-hypervisors/detail", "hypervisors",
                              microversion=self.microversion)

    def fetch_availability_zones(self) -> list[Any]:
        return self.list_json("/os-availability-zone/detail", "availabilityZoneInfo",
                              microversion=self.microversion)

    # ------------------------------------------------------------------ wrapper actions
    def servers_set_meta(self, args: dict[str, Any]) -> None:
        positional = list(args.get("positional") or [])
        if not positional:
            raise ValueError("servers_set_meta needs a server id and key/value pairs")
        server = positional.pop(0)
        metadata = pairs_to_dict(positional)
        self.action_client().servers.set_meta(server, metadata)
