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

from congress.datasources.declare import Collection, col, hdict, values
from congress.datasources.execution import ActionClient, pairs_to_dict
from congress.datasources.openstack import OpenStackDriver, openstack_config

NETWORKS = hdict("networks",
    col("id", "Network ID"),
    col("tenant_id", "Tenant ID"),
    col("name", "Network name"),
    col("status", "Network status"),
    col("admin_state_up", "Administrative state of the network"),
    col("shared", "Whether the network is shared"))

PORTS = hdict("ports",
    col("id", "UUID of port"),
    col("tenant_id", "tenant ID"),
    col("name", "port name"),
    col("network_id", "UUID of attached network"),
    col("mac_address", "MAC address of the port"),
    col("admin_state_up", "Administrative state of the port"),
    col("status", "Port status"),
    col("device_id", "The ID of the device that uses this port"),
    col("device_owner", "The entity type that uses this port"),
    col("fixed_ips", translator=hdict("fixed_ips",
        col("ip_address", "The IP addresses for the port"),
        col("subnet_id", "The UUID of the subnet to which the port is attached"),
        parent_key="id", parent_col_name="port_id", parent_key_desc="UUID of Port",
        in_list=True)),
    col("security_groups", translator=values(
        "security_group_port_bindings", "security_group_id", "UUID of security group",
        parent_key="id", parent_col_name="port_id", parent_key_desc="UUID of port")))

SUBNETS = hdict("subnets",
    col("id", "UUID of subnet"),
    col("tenant_id", "tenant ID"),
    col("name", "subnet name"),
    col("network_id", "UUID of attached network"),
    col("ip_version", "The IP version, which is 4 or 6"),
    col("cidr", "The CIDR"),
    col("gateway_ip", "The gateway IP address"),
    col("enable_dhcp", "Is DHCP is enabled or not"),
    col("ipv6_ra_mode", "The IPv6 RA mode"),
    col("ipv6_address_mode", "The IPv6 address mode"),
    col("allocation_pools", translator=hdict("allocation_pools",
        col("start", "The start address for the allocation pools"),
        col("end", "The end address for the allocation pools"),
        parent_key="id", parent_col_name="subnet_id", parent_key_desc="UUID of subnet",
        in_list=True)),
    col("dns_nameservers", translator=values(
        "dns_nameservers", "dns_nameserver", "The DNS server",
        parent_key="id", parent_col_name="subnet_id", parent_key_desc="UUID of subnet")),
    col("host_routes", translator=hdict("host_routes",
        col("destination", "The destination for static route"),
        col("nexthop", "The next hop for the destination"),
        parent_key="id", parent_col_name="subnet_id", parent_key_desc="UUID of subnet",
        in_list=True)))

ROUTERS = hdict("routers",
    col("id", "uuid of the router"),
    col("tenant_id", "tenant ID"),
    col("status", "router status"),
    col("admin_state_up", "administrative state of router"),
    col("name", "router name"),
    col("distributed", "distributed router or not"),
    col("external_gateway_info", translator=hdict("external_gateway_infos",
        col("network_id", "Network ID"),
        col("enable_snat", "current Source NAT status for router"),
        col("external_fixed_ips", translator=hdict("external_fixed_ips",
            col("subnet_id", "UUID of the subnet"),
            col("ip_address", "IP Address"),
            parent_key="router_id", parent_col_name="router_id",
            parent_key_desc="UUID of router", in_list=True)),
        parent_key="id", parent_col_name="router_id", parent_key_desc="UUID of router")))

SECURITY_GROUPS = hdict("security_groups",
    col("id", "UUID of the security group"),
    col("tenant_id", "Tenant ID"),
    col("name", "The security group name"),
    col("description", "security group description"),
    col("security_group_rules", translator=hdict("security_group_rules",
        col("id", "The UUID of the security group rule"),
        col("tenant_id", "tenant ID"),
        col("remote_group_id", "remote group id to associate with security group rule"),
        col("direction", "Direction in which the security group rule is applied"),
        col("ethertype", "IPv4 or IPv6"),
        col("protocol", "protocol that is matched by the security group rule."),
        col("port_range_min", "Min port number in the range"),
        col("port_range_max", "Max port number in the range"),
        col("remote_ip_prefix", "Remote IP prefix to be associated"),
        parent_key="id", parent_col_name="security_group_id",
        parent_key_desc="UUID of the security group", in_list=True)))

FLOATING_IPS = hdict("floating_ips",
    col("id", "The UUID of the floating IP address"),
    col("router_id", "UUID of router"),
    col("tenant_id", "Tenant ID"),
    col("floating_network_id", "The UUID of the network associated with floating IP"),
    col("fixed_ip_address", "Fixed IP address associated with floating IP address"),
    col("floating_ip_address", "The floating IP address"),
    col("port_id", "UUID of port"),
    col("status", "The floating IP status"))

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
    COLLECTIONS = {
        "networks": Collection("/networks", "networks"),
        "ports": Collection("/ports", "ports"),
        "subnets": Collection("/subnets", "subnets"),
        "routers": Collection("/routers", "routers"),
        "security_groups": Collection("/security-groups", "security_groups"),
        "floating_ips": Collection("/floatingips", "floatingips"),
    }
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
