"""Recorded-style OpenStack API responses served by :mod:`tests.fakes.openstack`.

Shapes follow the real APIs (nova 2.26+, neutron v2.0, glance v2, cinder v3, heat v1, ironic v1,
swift, aodh v2, keystone v3): field names, nesting, extension prefixes, string/bool/int types
and null values as those services answer them. ``default_data()`` returns a fresh deep copy per
fake server, so tests may change it.
"""

from __future__ import annotations

import copy
from typing import Any

PROJECT_ID = "0c6ef04ac3d34b3da61fa6e4bd3f38a7"
DEMO_PROJECT = "5f8e3c2d1a0b4c9d8e7f6a5b4c3d2e1f"
ADMIN_USER = "7a1c5e2b9d3f4e6a8b0c1d2e3f4a5b6c"
DEMO_USER = "3b9d1f7e5c2a4e8b9c0d1e2f3a4b5c6d"

_NET_PRIVATE = "5b5f0a5c-1b8a-4f5e-9d7a-2a1f6c3e8b90"
_NET_PUBLIC = "c4a2e8d6-3f1b-4a7c-9e5d-8b2f6a1c3e74"
_SUBNET_PRIVATE = "1f3e5d7c-9b2a-4c6e-8d0f-2a4b6c8e0a13"
_SUBNET_PUBLIC = "9e7c5a3b-1d2f-4e6a-8c0b-3d5f7a9c1e24"
_SG_DEFAULT = "2c4e6a8b-0d1f-4a3c-9e5b-7d9f1b3c5e68"
_SG_WEB = "8f6d4b2a-0e1c-4d3b-9a5c-7e9a1c3e5b79"
_ROUTER = "a7c9e1b3-5d7f-4b2a-8c4e-6f8a0c2e4d91"

SERVERS: list[dict[str, Any]] = [
    {
        "id": "4bd3ac7a-6a63-4c1e-a3f1-0c7b1a3e9d52",
        "name": "web-01",
        "status": "ACTIVE",
        "tenant_id": DEMO_PROJECT,
        "user_id": DEMO_USER,
        "metadata": {"role": "web"},
        "hostId": "7c3b2f0c5e8d9a1b4f6e2d3c8a9b0e1f2d3c4b5a6e7f8d9c0b1a2e3f",
        "image": {"id": "70a599e0-31e7-49b7-b260-868f441e862b",
                  "links": [{"rel": "bookmark",
                             "href": "http://openstack.example.com/images/70a599e0"}]},
        "flavor": {"id": "2", "links": [{"rel": "bookmark",
                                          "href": "http://openstack.example.com/flavors/2"}]},
        "created": "2024-03-05T10:12:44Z",
        "updated": "2024-03-05T10:13:10Z",
        "addresses": {
            "private": [
                {"version": 4, "addr": "10.0.0.12", "OS-EXT-IPS:type": "fixed",
                 "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:4c:2c:30"},
                {"version": 4, "addr": "172.24.4.170", "OS-EXT-IPS:type": "floating",
                 "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:4c:2c:30"},
            ],
        },
        "accessIPv4": "",
        "accessIPv6": "",
        "links": [],
        "OS-DCF:diskConfig": "MANUAL",
        "progress": 0,
        "OS-EXT-AZ:availability_zone": "nova",
        "config_drive": "",
        "key_name": "mykey",
        "OS-SRV-USG:launched_at": "2024-03-05T10:13:09.000000",
        "OS-SRV-USG:terminated_at": None,
        "OS-EXT-SRV-ATTR:host": "compute-1",
        "OS-EXT-SRV-ATTR:instance_name": "instance-00000001",
        "OS-EXT-SRV-ATTR:hypervisor_hostname": "compute-1.example.com",
        "OS-EXT-STS:task_state": None,
        "OS-EXT-STS:vm_state": "active",
        "OS-EXT-STS:power_state": 1,
        "os-extended-volumes:volumes_attached": [],
        "security_groups": [{"name": "default"}],
        "locked": False,
        "description": None,
        "tags": ["production", "web"],
    },
    {
        "id": "9e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b",
        "name": "db-01",
        "status": "SHUTOFF",
        "tenant_id": DEMO_PROJECT,
        "user_id": DEMO_USER,
        "metadata": {},
        "hostId": "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d",
        "image": {"id": "70a599e0-31e7-49b7-b260-868f441e862b", "links": []},
        "flavor": {"id": "3", "links": []},
        "created": "2024-03-06T08:00:01Z",
        "updated": "2024-03-07T12:30:00Z",
        "addresses": {
            "private": [{"version": 4, "addr": "10.0.0.25", "OS-EXT-IPS:type": "fixed",
                         "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:aa:01:02"}],
            "public": [{"version": 6, "addr": "2001:db8::25", "OS-EXT-IPS:type": "fixed",
                        "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:aa:01:03"}],
        },
        "OS-EXT-AZ:availability_zone": "nova",
        "OS-EXT-SRV-ATTR:host": "compute-2",
        "OS-EXT-SRV-ATTR:hypervisor_hostname": "compute-2.example.com",
        "OS-EXT-STS:vm_state": "stopped",
        "key_name": None,
        "locked": False,
        "tags": [],
    },
    {
        "id": "c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f",
        "name": "booting",
        "status": "BUILD",
        "tenant_id": PROJECT_ID,
        "user_id": ADMIN_USER,
        "metadata": {},
        "hostId": "",
        "image": "",          # boot from volume: nova answers an empty string
        "flavor": {"id": "1", "links": []},
        "created": "2024-03-08T09:15:00Z",
        "updated": "2024-03-08T09:15:01Z",
        "addresses": {},
        "OS-EXT-AZ:availability_zone": "",
        "OS-EXT-SRV-ATTR:host": None,
        "OS-EXT-SRV-ATTR:hypervisor_hostname": None,
        "OS-EXT-STS:vm_state": "building",
        "locked": False,
        "tags": ["pci"],
    },
]

FLAVORS = [
    {"id": "1", "name": "m1.tiny", "ram": 512, "disk": 1, "vcpus": 1, "swap": "",
     "OS-FLV-EXT-DATA:ephemeral": 0, "OS-FLV-DISABLED:disabled": False,
     "os-flavor-access:is_public": True, "rxtx_factor": 1.0, "links": [],
     "description": None, "extra_specs": {}},
    {"id": "2", "name": "m1.small", "ram": 2048, "disk": 20, "vcpus": 1, "swap": "",
     "OS-FLV-EXT-DATA:ephemeral": 0, "OS-FLV-DISABLED:disabled": False,
     "os-flavor-access:is_public": True, "rxtx_factor": 1.0, "links": []},
    {"id": "3", "name": "m1.medium", "ram": 4096, "disk": 40, "vcpus": 2, "swap": 512,
     "OS-FLV-EXT-DATA:ephemeral": 10, "OS-FLV-DISABLED:disabled": False,
     "os-flavor-access:is_public": False, "rxtx_factor": 2.0, "links": []},
]

HYPERVISORS = [
    {"id": "b1e43b5f-eec1-44e0-9f10-7b4945c0226d", "hypervisor_hostname": "compute-1.example.com",
     "state": "up", "status": "enabled", "hypervisor_type": "QEMU", "host_ip": "192.168.1.11",
     "service": {"host": "compute-1", "id": "b0a4d6c2-7f5e-4c3a-9d1b-2e8f0a6c4d3e",
                 "disabled_reason": None}},
    {"id": "3f9d1c7b-5a3e-4f1d-8b9c-0e2a4c6e8f0a", "hypervisor_hostname": "compute-2.example.com",
     "state": "down", "status": "disabled", "hypervisor_type": "QEMU", "host_ip": "192.168.1.12",
     "service": {"host": "compute-2", "id": "e7c5a3b1-9d8f-4e6a-b2c0-d4f6a8c0e2b4",
                 "disabled_reason": "maintenance"}},
]

COMPUTE_SERVICES = [
    {"id": "b0a4d6c2-7f5e-4c3a-9d1b-2e8f0a6c4d3e", "binary": "nova-compute", "host": "compute-1",
     "zone": "nova", "status": "enabled", "state": "up",
     "updated_at": "2024-03-08T10:00:01.000000", "disabled_reason": None, "forced_down": False},
    {"id": "e7c5a3b1-9d8f-4e6a-b2c0-d4f6a8c0e2b4", "binary": "nova-compute", "host": "compute-2",
     "zone": "nova", "status": "disabled", "state": "down",
     "updated_at": "2024-03-08T09:41:17.000000", "disabled_reason": "maintenance",
     "forced_down": False},
    {"id": "4d2b0f8e-6c4a-4e2c-8a0e-f2d4b6c8e0a2", "binary": "nova-scheduler",
     "host": "controller", "zone": "internal", "status": "enabled", "state": "up",
     "updated_at": "2024-03-08T10:00:03.000000", "disabled_reason": None, "forced_down": False},
]

AVAILABILITY_ZONES = [
    {"zoneName": "internal", "zoneState": {"available": True},
     "hosts": {"controller": {"nova-scheduler": {"available": True, "active": True,
                                                  "updated_at": "2024-03-08T10:00:03.000000"}}}},
    {"zoneName": "nova", "zoneState": {"available": True},
     "hosts": {"compute-1": {"nova-compute": {"available": True, "active": True,
                                               "updated_at": "2024-03-08T10:00:01.000000"}}}},
    {"zoneName": "az-broken", "zoneState": {"available": False}, "hosts": None},
]

NETWORKS = [
    {"id": _NET_PRIVATE, "name": "private", "tenant_id": DEMO_PROJECT,
     "project_id": DEMO_PROJECT, "status": "ACTIVE", "admin_state_up": True, "shared": False,
     "subnets": [_SUBNET_PRIVATE], "mtu": 1450, "router:external": False,
     "provider:network_type": "vxlan", "availability_zones": ["nova"], "tags": [],
     "created_at": "2024-03-01T08:00:00Z", "revision_number": 3},
    {"id": _NET_PUBLIC, "name": "public", "tenant_id": PROJECT_ID, "project_id": PROJECT_ID,
     "status": "ACTIVE", "admin_state_up": True, "shared": True, "subnets": [_SUBNET_PUBLIC],
     "mtu": 1500, "router:external": True, "tags": ["external"]},
]

SUBNETS = [
    {"id": _SUBNET_PRIVATE, "name": "private-subnet", "tenant_id": DEMO_PROJECT,
     "network_id": _NET_PRIVATE, "ip_version": 4, "cidr": "10.0.0.0/24",
     "gateway_ip": "10.0.0.1", "enable_dhcp": True, "ipv6_ra_mode": None,
     "ipv6_address_mode": None,
     "allocation_pools": [{"start": "10.0.0.2", "end": "10.0.0.254"}],
     "dns_nameservers": ["8.8.8.8", "8.8.4.4"],
     "host_routes": [{"destination": "192.168.0.0/16", "nexthop": "10.0.0.254"}]},
    {"id": _SUBNET_PUBLIC, "name": "public-v6", "tenant_id": PROJECT_ID,
     "network_id": _NET_PUBLIC, "ip_version": 6, "cidr": "2001:db8::/64",
     "gateway_ip": "2001:db8::1", "enable_dhcp": False, "ipv6_ra_mode": "slaac",
     "ipv6_address_mode": "slaac",
     "allocation_pools": [{"start": "2001:db8::2", "end": "2001:db8::ffff:ffff:ffff:ffff"}],
     "dns_nameservers": [], "host_routes": []},
]

PORTS = [
    {"id": "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9", "name": "", "tenant_id": DEMO_PROJECT,
     "network_id": _NET_PRIVATE, "mac_address": "fa:16:3e:4c:2c:30", "admin_state_up": True,
     "status": "ACTIVE", "device_id": "4bd3ac7a-6a63-4c1e-a3f1-0c7b1a3e9d52",
     "device_owner": "compute:nova",
     "fixed_ips": [{"subnet_id": _SUBNET_PRIVATE, "ip_address": "10.0.0.12"}],
     "security_groups": [_SG_DEFAULT, _SG_WEB], "binding:vnic_type": "normal",
     "port_security_enabled": True, "allowed_address_pairs": []},
    {"id": "0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d", "name": "router-gw",
     "tenant_id": "", "network_id": _NET_PUBLIC, "mac_address": "fa:16:3e:00:11:22",
     "admin_state_up": True, "status": "ACTIVE", "device_id": _ROUTER,
     "device_owner": "network:router_gateway",
     "fixed_ips": [{"subnet_id": _SUBNET_PUBLIC, "ip_address": "2001:db8::a"},
                   {"subnet_id": _SUBNET_PUBLIC, "ip_address": "2001:db8::b"}],
     "security_groups": []},
]

ROUTERS = [
    {"id": _ROUTER, "name": "router1", "tenant_id": DEMO_PROJECT, "status": "ACTIVE",
     "admin_state_up": True, "distributed": False, "ha": False,
     "external_gateway_info": {
         "network_id": _NET_PUBLIC, "enable_snat": True,
         "external_fixed_ips": [{"subnet_id": _SUBNET_PUBLIC, "ip_address": "2001:db8::a"}]},
     "routes": []},
    {"id": "b2d4f6a8-c0e2-4a4c-8e6a-0c2e4a6c8e0b", "name": "isolated",
     "tenant_id": DEMO_PROJECT, "status": "ACTIVE", "admin_state_up": False,
     "distributed": True, "external_gateway_info": None, "routes": []},
]

SECURITY_GROUPS = [
    {"id": _SG_DEFAULT, "name": "default", "tenant_id": DEMO_PROJECT,
     "description": "Default security group",
     "security_group_rules": [
         {"id": "11a1b1c1-d1e1-4f11-8a11-b1c1d1e1f111", "security_group_id": _SG_DEFAULT,
          "tenant_id": DEMO_PROJECT, "remote_group_id": _SG_DEFAULT, "direction": "ingress",
          "ethertype": "IPv4", "protocol": None, "port_range_min": None,
          "port_range_max": None, "remote_ip_prefix": None},
         {"id": "22a2b2c2-d2e2-4f22-8a22-b2c2d2e2f222", "security_group_id": _SG_DEFAULT,
          "tenant_id": DEMO_PROJECT, "remote_group_id": None, "direction": "egress",
          "ethertype": "IPv6", "protocol": None, "port_range_min": None,
          "port_range_max": None, "remote_ip_prefix": None},
     ]},
    {"id": _SG_WEB, "name": "web", "tenant_id": DEMO_PROJECT, "description": "HTTP(S) in",
     "security_group_rules": [
         {"id": "33a3b3c3-d3e3-4f33-8a33-b3c3d3e3f333", "security_group_id": _SG_WEB,
          "tenant_id": DEMO_PROJECT, "remote_group_id": None, "direction": "ingress",
          "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 80, "port_range_max": 80,
          "remote_ip_prefix": "0.0.0.0/0"},
         {"id": "44a4b4c4-d4e4-4f44-8a44-b4c4d4e4f444", "security_group_id": _SG_WEB,
          "tenant_id": DEMO_PROJECT, "remote_group_id": None, "direction": "ingress",
          "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 443,
          "port_range_max": 443, "remote_ip_prefix": "0.0.0.0/0"},
     ]},
]

FLOATING_IPS = [
    {"id": "61cea855-49cb-4846-997d-801b70c71bdd", "router_id": _ROUTER,
     "tenant_id": DEMO_PROJECT, "floating_network_id": _NET_PUBLIC,
     "fixed_ip_address": "10.0.0.12", "floating_ip_address": "172.24.4.170",
     "port_id": "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9", "status": "ACTIVE",
     "description": "", "port_details": None},
    {"id": "898b198e-49f7-47d6-a7e1-53f626a548e6", "router_id": None,
     "tenant_id": DEMO_PROJECT, "floating_network_id": _NET_PUBLIC,
     "fixed_ip_address": None, "floating_ip_address": "172.24.4.228", "port_id": None,
     "status": "DOWN"},
]

IMAGES = [
    {"id": "70a599e0-31e7-49b7-b260-868f441e862b", "name": "cirros-0.6.2-x86_64-disk",
     "status": "active", "container_format": "bare", "disk_format": "qcow2",
     "created_at": "2024-02-28T10:00:00Z", "updated_at": "2024-02-28T10:00:03Z",
     "owner": PROJECT_ID, "protected": False, "min_ram": 0, "min_disk": 0,
     "checksum": "c8fc807773e5354afe61636071771906", "size": 21430272,
     "file": "/v2/images/70a599e0-31e7-49b7-b260-868f441e862b/file",
     "schema": "/v2/schemas/image", "visibility": "public", "tags": ["cirros", "test"],
     "os_hash_algo": "sha512", "os_hidden": False, "virtual_size": 117440512,
     "self": "/v2/images/70a599e0-31e7-49b7-b260-868f441e862b"},
    {"id": "5c3b7f1e-2d4a-4e6c-8b0a-9f1d3e5c7a9b", "name": "ubuntu-22.04-kernel",
     "status": "active", "container_format": "aki", "disk_format": "aki",
     "created_at": "2024-03-01T11:00:00Z", "updated_at": "2024-03-01T11:05:00Z",
     "owner": DEMO_PROJECT, "protected": True, "min_ram": 512, "min_disk": 2,
     "checksum": None, "size": None, "file": "/v2/images/5c3b7f1e/file",
     "schema": "/v2/schemas/image", "visibility": "private", "tags": [],
     "kernel_id": "b7a9c1e3-d5f7-4a9b-8c1d-e3f5a7b9c1d3",
     "ramdisk_id": "f1a3c5e7-b9d1-4f3a-8e5c-7a9c1e3f5a7b"},
    {"id": "e5d4c3b2-a1f0-4e9d-8c7b-6a5f4e3d2c1b", "name": None, "status": "queued",
     "container_format": None, "disk_format": None, "created_at": "2024-03-08T09:00:00Z",
     "updated_at": "2024-03-08T09:00:00Z", "owner": DEMO_PROJECT, "protected": False,
     "min_ram": 0, "min_disk": 0, "checksum": None, "size": None,
     "file": "/v2/images/e5d4c3b2/file", "schema": "/v2/schemas/image",
     "visibility": "shared", "tags": ["pending"]},
]

VOLUMES = [
    {"id": "6edbc2f4-1507-44f8-ac0d-eed1d2608d38", "size": 10, "user_id": DEMO_USER,
     "status": "in-use", "description": "data disk", "name": "vol-data", "bootable": "false",
     "created_at": "2024-03-05T11:00:00.000000", "volume_type": "lvmdriver-1",
     "encrypted": False, "availability_zone": "nova", "replication_status": None,
     "multiattach": False, "snapshot_id": None, "source_volid": None,
     "consistencygroup_id": None, "migration_status": None,
     "os-vol-tenant-attr:tenant_id": DEMO_PROJECT, "metadata": {},
     "attachments": [{"server_id": "4bd3ac7a-6a63-4c1e-a3f1-0c7b1a3e9d52",
                      "attachment_id": "d3f2e1c0-b9a8-4765-9432-10fedcba9876",
                      "attached_at": "2024-03-05T11:05:00.000000",
                      "host_name": "compute-1", "volume_id":
                      "6edbc2f4-1507-44f8-ac0d-eed1d2608d38", "device": "/dev/vdb",
                      "id": "6edbc2f4-1507-44f8-ac0d-eed1d2608d38"}]},
    {"id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", "size": 1, "user_id": DEMO_USER,
     "status": "available", "description": None, "name": "", "bootable": "true",
     "created_at": "2024-03-06T07:30:00.000000", "volume_type": None, "encrypted": True,
     "availability_zone": "nova", "replication_status": "disabled", "multiattach": True,
     "snapshot_id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "source_volid": None,
     "consistencygroup_id": None, "migration_status": None, "attachments": []},
]

SNAPSHOTS = [
    {"id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "size": 1, "status": "available",
     "volume_id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", "name": "snap-1",
     "created_at": "2024-03-06T07:00:00.000000", "description": None, "metadata": {}},
]

VOLUME_SERVICES = [
    {"binary": "cinder-scheduler", "host": "controller", "zone": "nova", "status": "enabled",
     "state": "up", "updated_at": "2024-03-08T10:00:00.000000", "disabled_reason": None},
    {"binary": "cinder-volume", "host": "controller@lvmdriver-1", "zone": "nova",
     "status": "enabled", "state": "down", "updated_at": "2024-03-08T08:00:00.000000",
     "disabled_reason": None, "replication_status": "disabled"},
]

_STACK_ID = "3095aefc-09fb-4bc7-b1f0-f21a304e864c"
STACKS = [
    {"id": _STACK_ID, "stack_name": "web-stack", "description": "A web tier",
     "creation_time": "2024-03-04T12:00:00Z", "updated_time": None,
     "stack_status": "CREATE_COMPLETE", "stack_status_reason": "Stack CREATE completed",
     "stack_owner": None, "parent": None, "tags": None, "project": DEMO_PROJECT,
     "links": [{"href": f"http://heat.example.com/v1/{DEMO_PROJECT}/stacks/web-stack/"
                        f"{_STACK_ID}", "rel": "self"}]},
]

RESOURCES = {
    _STACK_ID: [
        {"physical_resource_id": "4bd3ac7a-6a63-4c1e-a3f1-0c7b1a3e9d52",
         "logical_resource_id": "server", "resource_name": "server",
         "resource_type": "OS::Nova::Server", "creation_time": "2024-03-04T12:00:01Z",
         "updated_time": "2024-03-04T12:00:30Z", "resource_status": "CREATE_COMPLETE",
         "resource_status_reason": "state changed", "required_by": [],
         "links": [{"href": "http://heat.example.com/resources/server", "rel": "self"},
                   {"href": "http://heat.example.com/stacks/web-stack", "rel": "stack"}]},
    ],
}

EVENTS = {
    _STACK_ID: [
        {"id": "a1b2c3d4-0001-4000-8000-000000000001",
         "physical_resource_id": "4bd3ac7a-6a63-4c1e-a3f1-0c7b1a3e9d52",
         "logical_resource_id": "server", "resource_name": "server",
         "event_time": "2024-03-04T12:00:30Z", "resource_status": "CREATE_COMPLETE",
         "resource_status_reason": "state changed",
         "links": [{"href": "http://heat.example.com/events/1", "rel": "self"}]},
    ],
}

SOFTWARE_DEPLOYMENTS = [
    {"id": "06e87bcc-33a2-4bce-aebd-533e698282d3", "server_id":
     "4bd3ac7a-6a63-4c1e-a3f1-0c7b1a3e9d52", "config_id":
     "8da95794-2ad9-4979-8ae5-739ce314c5cd", "action": "CREATE", "status": "COMPLETE",
     "status_reason": "Outputs received", "creation_time": "2024-03-04T12:01:00Z",
     "output_values": {"deploy_stdout": "ok\n", "deploy_stderr": "", "deploy_status_code": 0,
                       "result": "The result value"}},
]

IRONIC_NODES = [
    {"uuid": "1be26c0b-03f2-4d2e-ae87-c02d7f33c123", "chassis_uuid":
     "dff29d23-1ded-43b4-8ae1-5eebb3e30de1", "power_state": "power on",
     "maintenance": False, "driver": "ipmi", "instance_uuid":
     "4bd3ac7a-6a63-4c1e-a3f1-0c7b1a3e9d52", "created_at": "2024-02-01T10:00:00+00:00",
     "provision_updated_at": "2024-03-05T10:12:00+00:00",
     "updated_at": "2024-03-05T10:13:00+00:00", "provision_state": "active",
     "properties": {"memory_mb": 131072, "cpu_arch": "x86_64", "local_gb": 500, "cpus": 32}},
    {"uuid": "2ce37d1c-14a3-4e3f-bf98-d13e8a44d234", "chassis_uuid": None,
     "power_state": None, "maintenance": True, "driver": "redfish", "instance_uuid": None,
     "created_at": "2024-02-02T10:00:00+00:00", "provision_updated_at": None,
     "updated_at": None, "provision_state": "enroll", "properties": {}},
]

IRONIC_PORTS = [
    {"uuid": "d2b30520-907d-46c8-bfee-c5586e6fb3a1", "node_uuid":
     "1be26c0b-03f2-4d2e-ae87-c02d7f33c123", "address": "52:54:00:cf:2d:31",
     "extra": {"vif_port_id": "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9"},
     "internal_info": {}, "created_at": "2024-02-01T10:01:00+00:00", "updated_at": None},
]

IRONIC_CHASSIS = [
    {"uuid": "dff29d23-1ded-43b4-8ae1-5eebb3e30de1", "description": "Rack 12",
     "created_at": "2024-01-15T09:00:00+00:00", "updated_at": None, "extra": {}},
]

IRONIC_DRIVERS = [
    {"name": "ipmi", "hosts": ["conductor-1", "conductor-2"], "type": "dynamic"},
    {"name": "redfish", "hosts": ["conductor-1"], "type": "dynamic"},
]

SWIFT_CONTAINERS = {
    "backups": [
        {"bytes": 1048576, "last_modified": "2024-03-07T01:00:00.000000",
         "hash": "d41d8cd98f00b204e9800998ecf8427e", "name": "db-2024-03-07.tar.gz",
         "content_type": "application/gzip"},
        {"bytes": 524288, "last_modified": "2024-03-08T01:00:00.000000",
         "hash": "9e107d9d372bb6826bd81d3542a419d6", "name": "db-2024-03-08.tar.gz",
         "content_type": "application/gzip"},
    ],
    "public-assets": [
        {"bytes": 2048, "last_modified": "2024-03-01T12:00:00.000000",
         "hash": "e4d909c290d0fb1ca068ffaddf22cbd0", "name": "logo.png",
         "content_type": "image/png"},
    ],
    "empty": [],
}

AODH_ALARMS = [
    {"alarm_id": "b8e17f58-089a-43fc-a96b-e9bcac4d4b53", "name": "cpu_high",
     "state": "alarm", "enabled": True, "type": "gnocchi_aggregation_by_resources_threshold",
     "description": "CPU usage above 90%", "time_constraints": [], "user_id": DEMO_USER,
     "project_id": DEMO_PROJECT, "alarm_actions": ["http://alarm-handler.example/cpu"],
     "ok_actions": [], "insufficient_data_actions": [], "repeat_actions": False,
     "timestamp": "2024-03-08T09:59:00.000000", "state_timestamp": "2024-03-08T09:58:00.000000",
     "severity": "critical", "state_reason": "Transition to alarm"},
    {"alarm_id": "0e5c2a4d-6f8b-4d1e-9a3c-5e7a9c1e3b5d", "name": "disk_low",
     "state": "insufficient data", "enabled": False, "type": "event",
     "description": None, "time_constraints": [{"name": "nightly", "start": "0 23 * * *",
                                                "duration": 3600, "timezone": ""}],
     "user_id": DEMO_USER, "project_id": DEMO_PROJECT, "alarm_actions": [],
     "ok_actions": ["log://"], "insufficient_data_actions": [], "repeat_actions": True,
     "timestamp": "2024-03-01T00:00:00.000000", "state_timestamp": "2024-03-01T00:00:00.000000"},
]

KEYSTONE_USERS = [
    {"id": ADMIN_USER, "name": "admin", "enabled": True, "domain_id": "default",
     "default_project_id": PROJECT_ID, "password_expires_at": None, "options": {},
     "links": {"self": "http://keystone.example/v3/users/" + ADMIN_USER}},
    {"id": DEMO_USER, "name": "demo", "enabled": False, "domain_id": "default",
     "password_expires_at": None, "options": {}, "links": {}},
]
KEYSTONE_ROLES = [
    {"id": "9fe2ff9ee4384b1894a90878d3e92bab", "name": "admin", "domain_id": None,
     "description": None, "options": {"immutable": True}, "links": {}},
    {"id": "c8a2d6e4f0b24c6e8a0c2e4f6a8c0e2b", "name": "member", "domain_id": None,
     "options": {}, "links": {}},
]
KEYSTONE_PROJECTS = [
    {"id": PROJECT_ID, "name": "admin", "enabled": True, "description": "Bootstrap project",
     "domain_id": "default", "is_domain": False, "parent_id": "default", "tags": [],
     "options": {}, "links": {}},
    {"id": DEMO_PROJECT, "name": "demo", "enabled": True, "description": "",
     "domain_id": "default", "is_domain": False, "parent_id": "default", "tags": [],
     "options": {}, "links": {}},
]
KEYSTONE_DOMAINS = [
    {"id": "default", "name": "Default", "enabled": True,
     "description": "The default domain", "tags": [], "options": {}, "links": {}},
]


def default_data() -> dict[str, Any]:
    return copy.deepcopy({
        "servers": SERVERS, "flavors": FLAVORS, "hypervisors": HYPERVISORS,
        "compute_services": COMPUTE_SERVICES, "availability_zones": AVAILABILITY_ZONES,
        "networks": NETWORKS, "subnets": SUBNETS, "ports": PORTS, "routers": ROUTERS,
        "security_groups": SECURITY_GROUPS, "floatingips": FLOATING_IPS,
        "images": IMAGES, "volumes": VOLUMES, "snapshots": SNAPSHOTS,
        "volume_services": VOLUME_SERVICES, "stacks": STACKS, "resources": RESOURCES,
        "events": EVENTS, "software_deployments": SOFTWARE_DEPLOYMENTS,
        "ironic_nodes": IRONIC_NODES, "ironic_ports": IRONIC_PORTS,
        "ironic_chassis": IRONIC_CHASSIS, "ironic_drivers": IRONIC_DRIVERS,
        "swift": SWIFT_CONTAINERS, "aodh_alarms": AODH_ALARMS,
        "users": KEYSTONE_USERS, "roles": KEYSTONE_ROLES, "projects": KEYSTONE_PROJECTS,
        "domains": KEYSTONE_DOMAINS,
    })
