"""``neutronv2``: OpenStack Networking (networks, ports, subnets, routers, security groups,
floating IPs).

Reads ``GET /v2.0/{networks,ports,subnets,routers,security-groups,floatingips}`` (following
``<collection>_links`` pages).

Actions: wrappers ``update_resource_attrs(resource_type, id, attr1, val1, ...)``,
``attach_port_security_group(port_id, sg_id)``, ``detach_port_security_group(port_id, sg_id)``
and the client actions below (neutronclient's names, openstacksdk underneath; like the
original, no ``update_*`` client action: use ``update_resource_attrs``). A ``body`` argument
may be given as a JSON or YAML string.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from congress.datasources.execution import ActionClient, pairs_to_dict
from congress.datasources.openstack import OpenStackDriver, openstack_config
from congress.datasources.translators import DICT_SELECTOR, HDICT, LIST, VALUE

V = {"translation-type": VALUE}

NETWORKS = {
    "translation-type": HDICT, "table-name": "networks", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "id", "desc": "Network ID", "translator": V},
        {"fieldname": "tenant_id", "desc": "Tenant ID", "translator": V},
        {"fieldname": "name", "desc": "Network name", "translator": V},
        {"fieldname": "status", "desc": "Network status", "translator": V},
        {"fieldname": "admin_state_up", "desc": "Administrative state of the network",
         "translator": V},
        {"fieldname": "shared", "desc": "Whether the network is shared", "translator": V},
    )}

PORTS = {
    "translation-type": HDICT, "table-name": "ports", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "id", "desc": "UUID of port", "translator": V},
        {"fieldname": "tenant_id", "desc": "tenant ID", "translator": V},
        {"fieldname": "name", "desc": "port name", "translator": V},
        {"fieldname": "network_id", "desc": "UUID of attached network", "translator": V},
        {"fieldname": "mac_address", "desc": "MAC address of the port", "translator": V},
        {"fieldname": "admin_state_up", "desc": "Administrative state of the port",
         "translator": V},
        {"fieldname": "status", "desc": "Port status", "translator": V},
        {"fieldname": "device_id", "desc": "The ID of the device that uses this port",
         "translator": V},
        {"fieldname": "device_owner", "desc": "The entity type that uses this port",
         "translator": V},
        {"fieldname": "fixed_ips",
         "translator": {
             "translation-type": HDICT, "table-name": "fixed_ips", "parent-key": "id",
             "parent-col-name": "port_id", "parent-key-desc": "UUID of Port",
             "selector-type": DICT_SELECTOR, "in-list": True,
             "field-translators": (
                 {"fieldname": "ip_address", "desc": "The IP addresses for the port",
                  "translator": V},
                 {"fieldname": "subnet_id", "desc": "The UUID of the subnet to which the port "
                                                    "is attached", "translator": V})}},
        {"fieldname": "security_groups",
         "translator": {
             "translation-type": LIST, "table-name": "security_group_port_bindings",
             "parent-key": "id", "parent-col-name": "port_id",
             "parent-key-desc": "UUID of port", "val-col": "security_group_id",
             "val-col-desc": "UUID of security group", "translator": V}},
    )}

SUBNETS = {
    "translation-type": HDICT, "table-name": "subnets", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "id", "desc": "UUID of subnet", "translator": V},
        {"fieldname": "tenant_id", "desc": "tenant ID", "translator": V},
        {"fieldname": "name", "desc": "subnet name", "translator": V},
        {"fieldname": "network_id", "desc": "UUID of attached network", "translator": V},
        {"fieldname": "ip_version", "desc": "The IP version, which is 4 or 6",
         "translator": V},
        {"fieldname": "cidr", "desc": "The CIDR", "translator": V},
        {"fieldname": "gateway_ip", "desc": "The gateway IP address", "translator": V},
        {"fieldname": "enable_dhcp", "desc": "Is DHCP is enabled or not", "translator": V},
        {"fieldname": "ipv6_ra_mode", "desc": "The IPv6 RA mode", "translator": V},
        {"fieldname": "ipv6_address_mode", "desc": "The IPv6 address mode",
         "translator": V},
        {"fieldname": "allocation_pools",
         "translator": {
             "translation-type": HDICT, "table-name": "allocation_pools",
             "parent-key": "id", "parent-col-name": "subnet_id",
             "parent-key-desc": "UUID of subnet", "selector-type": DICT_SELECTOR,
             "in-list": True,
             "field-translators": (
                 {"fieldname": "start", "desc": "The start address for the allocation pools",
                  "translator": V},
                 {"fieldname": "end", "desc": "The end address for the allocation pools",
                  "translator": V})}},
        {"fieldname": "dns_nameservers",
         "translator": {
             "translation-type": LIST, "table-name": "dns_nameservers",
             "parent-key": "id", "parent-col-name": "subnet_id",
             "parent-key-desc": "UUID of subnet", "val-col": "dns_nameserver",
             "val-col-desc": "The DNS server", "translator": V}},
        {"fieldname": "host_routes",
         "translator": {
             "translation-type": HDICT, "table-name": "host_routes",
             "parent-key": "id", "parent-col-name": "subnet_id",
             "parent-key-desc": "UUID of subnet", "selector-type": DICT_SELECTOR,
             "in-list": True,
             "field-translators": (
                 {"fieldname": "destination", "desc": "The destination for static route",
                  "translator": V},
                 {"fieldname": "nexthop", "desc": "The next hop for the destination",
                  "translator": V})}},
    )}

ROUTERS = {
    "translation-type": HDICT, "table-name": "routers", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "id", "desc": "uuid of the router", "translator": V},
        {"fieldname": "tenant_id", "desc": "tenant ID", "translator": V},
        {"fieldname": "status", "desc": "router status", "translator": V},
        {"fieldname": "admin_state_up", "desc": "administrative state of router",
         "translator": V},
        {"fieldname": "name", "desc": "router name", "translator": V},
        {"fieldname": "distributed", "desc": "distributed router or not", "translator": V},
        {"fieldname": "external_gateway_info",
         "translator": {
             "translation-type": HDICT, "table-name": "external_gateway_infos",
             "parent-key": "id", "parent-col-name": "router_id",
             "parent-key-desc": "UUID of router", "selector-type": DICT_SELECTOR,
             "field-translators": (
                 {"fieldname": "network_id", "desc": "Network ID", "translator": V},
                 {"fieldname": "enable_snat", "desc": "current Source NAT status for router",
                  "translator": V},
                 {"fieldname": "external_fixed_ips",
                  "translator": {
                      "translation-type": HDICT, "table-name": "external_fixed_ips",
                      "parent-key": "router_id", "parent-col-name": "router_id",
                      "parent-key-desc": "UUID of router", "selector-type": DICT_SELECTOR,
                      "in-list": True,
                      "field-translators": (
                          {"fieldname": "subnet_id", "desc": "UUID of the subnet",
                           "translator": V},
                          {"fieldname": "ip_address", "desc": "IP Address",
                           "translator": V})}})}},
    )}

SECURITY_GROUPS = {
    "translation-type": HDICT, "table-name": "security_groups",
    "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "id", "desc": "UUID of the security group", "translator": V},
        {"fieldname": "tenant_id", "desc": "Tenant ID", "translator": V},
        {"fieldname": "name", "desc": "The security group name", "translator": V},
        {"fieldname": "description", "desc": "security group description", "translator": V},
        {"fieldname": "security_group_rules",
         "translator": {
             "translation-type": HDICT, "table-name": "security_group_rules",
             "parent-key": "id", "parent-col-name": "security_group_id",
             "parent-key-desc": "UUID of the security group",
             "selector-type": DICT_SELECTOR, "in-list": True,
             "field-translators": (
                 {"fieldname": "id", "desc": "The UUID of the security group rule",
                  "translator": V},
                 {"fieldname": "tenant_id", "desc": "tenant ID", "translator": V},
                 {"fieldname": "remote_group_id",
                  "desc": "remote group id to associate with security group rule",
                  "translator": V},
                 {"fieldname": "direction", "desc": "Direction in which the security group "
                                                    "rule is applied", "translator": V},
                 {"fieldname": "ethertype", "desc": "IPv4 or IPv6", "translator": V},
                 {"fieldname": "protocol", "desc": "protocol that is matched by the security "
                                                   "group rule.", "translator": V},
                 {"fieldname": "port_range_min", "desc": "Min port number in the range",
                  "translator": V},
                 {"fieldname": "port_range_max", "desc": "Max port number in the range",
                  "translator": V},
                 {"fieldname": "remote_ip_prefix", "desc": "Remote IP prefix to be "
                                                           "associated", "translator": V})}},
    )}

FLOATING_IPS = {
    "translation-type": HDICT, "table-name": "floating_ips", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "id", "desc": "The UUID of the floating IP address", "translator": V},
        {"fieldname": "router_id", "desc": "UUID of router", "translator": V},
        {"fieldname": "tenant_id", "desc": "Tenant ID", "translator": V},
        {"fieldname": "floating_network_id", "desc": "The UUID of the network associated "
                                                     "with floating IP", "translator": V},
        {"fieldname": "fixed_ip_address", "desc": "Fixed IP address associated with "
                                                  "floating IP address", "translator": V},
        {"fieldname": "floating_ip_address", "desc": "The floating IP address",
         "translator": V},
        {"fieldname": "port_id", "desc": "UUID of port", "translator": V},
        {"fieldname": "status", "desc": "The floating IP status", "translator": V},
    )}

# neutronclient resource name -> openstacksdk proxy method suffix
_SDK_NAMES = {"network": "network", "subnet": "subnet", "port": "port", "router": "router",
              "security_group": "security_group",
              "security_group_rule": "security_group_rule", "floatingip": "ip"}


def decode_body(body: Any) -> Any:
    """A ``body`` argument given as JSON or YAML text, decoded (dicts pass unchanged)."""
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError:
            return yaml.safe_load(body)
    return body


def _unwrap(body: Any, resource: str) -> dict[str, Any]:
    body = decode_body(body)
    if isinstance(body, dict) and isinstance(body.get(resource), dict):
        return body[resource]
    if isinstance(body, dict):
        return body
    raise ValueError(f"body must be an object {{'{resource}': {{...}}}}")


class NeutronActions(ActionClient):
    """neutronclient-style methods over openstacksdk's network proxy."""

    @property
    def _net(self) -> Any:
        return self.driver.proxy("network")

    def _delete(self, resource: str, ident: str) -> None:
        getattr(self._net, f"delete_{_SDK_NAMES[resource]}")(ident, ignore_missing=False)

    def delete_network(self, network: str) -> None:
        """Delete a network.

        :param network: ID of the network
        """
        self._delete("network", network)

    def delete_subnet(self, subnet: str) -> None:
        """Delete a subnet.

        :param subnet: ID of the subnet
        """
        self._delete("subnet", subnet)

    def delete_port(self, port: str) -> None:
        """Delete a port.

        :param port: ID of the port
        """
        self._delete("port", port)

    def delete_router(self, router: str) -> None:
        """Delete a router.

        :param router: ID of the router
        """
        self._delete("router", router)

    def delete_security_group(self, security_group: str) -> None:
        """Delete a security group.

        :param security_group: ID of the security group
        """
        self._delete("security_group", security_group)

    def delete_security_group_rule(self, security_group_rule: str) -> None:
        """Delete a security group rule.

        :param security_group_rule: ID of the rule
        """
        self._delete("security_group_rule", security_group_rule)

    def delete_floatingip(self, floatingip: str) -> None:
        """Delete a floating IP.

        :param floatingip: ID of the floating IP
        """
        self._delete("floatingip", floatingip)

    def create_network(self, body: Any) -> Any:
        """Create a network.

        :param body: {"network": {...}} (object, JSON or YAML)
        """
        return self._net.create_network(**_unwrap(body, "network"))

    def create_port(self, body: Any) -> Any:
        """Create a port.

        :param body: {"port": {...}} (object, JSON or YAML)
        """
        return self._net.create_port(**_unwrap(body, "port"))

    def create_security_group_rule(self, body: Any) -> Any:
        """Create a security group rule.

        :param body: {"security_group_rule": {...}} (object, JSON or YAML)
        """
        return self._net.create_security_group_rule(**_unwrap(body, "security_group_rule"))

    def add_interface_router(self, router: str, body: Any) -> Any:
        """Attach a subnet or port to a router.

        :param router: ID of the router
        :param body: {"subnet_id": ...} or {"port_id": ...}
        """
        return self._net.add_interface_to_router(router, **_unwrap(body, "interface"))

    def remove_interface_router(self, router: str, body: Any) -> Any:
        """Detach a subnet or port from a router.

        :param router: ID of the router
        :param body: {"subnet_id": ...} or {"port_id": ...}
        """
        return self._net.remove_interface_from_router(router, **_unwrap(body, "interface"))


class NeutronV2Driver(OpenStackDriver):
    DRIVER_ID = "neutronv2"
    DESCRIPTION = "Datasource driver that interfaces with OpenStack Networking aka Neutron."
    CONFIG = openstack_config()
    PROXY = "network"
    SERVICE_TYPE = "network"
    TRANSLATORS = [NETWORKS, PORTS, SUBNETS, ROUTERS, SECURITY_GROUPS, FLOATING_IPS]
    ACTION_CLIENT = NeutronActions
    ACTIONS = [
        {"name": "update_resource_attrs",
         "args": [{"name": "resource_type",
                   "description": "resource type (e.g. network, subnet, port, router)"},
                  {"name": "id", "description": "ID of the resource"},
                  {"name": "attr1", "description": "attribute name to update"},
                  {"name": "attr1-value", "description": "updated attr1 value"},
                  {"name": "attrN", "description": "attribute name to update"},
                  {"name": "attrN-value", "description": "updated attrN value"}],
         "description": "A wrapper for update_<resource_type>()"},
        {"name": "attach_port_security_group",
         "args": [{"name": "port_id", "description": "ID of target port"},
                  {"name": "security_group_id", "description": "ID security group to be "
                                                               "attached"}],
         "description": "Attach a security group to a port"},
        {"name": "detach_port_security_group",
         "args": [{"name": "port_id", "description": "ID of target port"},
                  {"name": "security_group_id", "description": "ID security group to be "
                                                               "detached"}],
         "description": "Detach a security group from a port"},
    ]

    def fetch_networks(self) -> list[Any]:
        return self.list_json("/networks", "networks")

    def fetch_ports(self) -> list[Any]:
        return self.list_json("/ports", "ports")

    def fetch_subnets(self) -> list[Any]:
        return self.list_json("/subnets", "subnets")

    def fetch_routers(self) -> list[Any]:
        return self.list_json("/routers", "routers")

    def fetch_security_groups(self) -> list[Any]:
        return self.list_json("/security-groups", "security_groups")

    def fetch_floating_ips(self) -> list[Any]:
        return self.list_json("/floatingips", "floatingips")

    # ------------------------------------------------------------------ wrapper actions
    def update_resource_attrs(self, args: dict[str, Any]) -> Any:
        positional = list(args.get("positional") or [])
        if len(positional) < 2:
            raise ValueError("update_resource_attrs needs a resource type, an id and "
                             "attribute/value pairs")
        resource, ident = positional[0], positional[1]
        attrs = pairs_to_dict(positional[2:])
        name = _SDK_NAMES.get(resource)
        if name is None:
            raise ValueError(f"unknown resource type {resource!r}; expected one of "
                             f"{', '.join(sorted(_SDK_NAMES))}")
        return getattr(self.proxy("network"), f"update_{name}")(ident, **attrs)

    def _port_security_groups(self, args: dict[str, Any]) -> tuple[str, str, list[str]]:
        positional = list(args.get("positional") or [])
        named = args.get("named") or {}
        port_id = positional[0] if positional else named.get("port_id")
        sg_id = positional[1] if len(positional) > 1 else named.get("security_group_id")
        if not port_id or not sg_id:
            raise ValueError("needs a port id and a security group id")
        port = self.proxy("network").get_port(port_id)
        return port_id, sg_id, list(port.security_group_ids or [])

    def attach_port_security_group(self, args: dict[str, Any]) -> None:
        port_id, sg_id, groups = self._port_security_groups(args)
        if sg_id not in groups:
            self.proxy("network").update_port(port_id, security_group_ids=groups + [sg_id])

    def detach_port_security_group(self, args: dict[str, Any]) -> None:
        port_id, sg_id, groups = self._port_security_groups(args)
        if sg_id in groups:
            self.proxy("network").update_port(
                port_id, security_group_ids=[g for g in groups if g != sg_id])
