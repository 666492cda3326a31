"""The registry: which drivers are offered, custom endpoints, and every driver's tables and
columns exactly as OpenStack Congress's drivers defined them, so that existing policies keep
working (computed without a bus, a DB or a network)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from congress import exceptions
from congress.datasources import registry

EXPECTED: dict[str, dict[str, list[str]]] = {
    "nova": {
        "servers": ["id", "name", "host_id", "status", "tenant_id", "user_id", "image_id",
                    "flavor_id", "zone", "host_name", "created_at"],
        "servers.addresses": ["server_id", "network_name", "address", "version",
                              "mac_address", "address_type"],
        "tags": ["server_id", "tag"],
        "flavors": ["id", "name", "vcpus", "ram", "disk", "ephemeral", "rxtx_factor"],
        "services": ["service_id", "binary", "host", "zone", "status", "state", "updated_at",
                     "disabled_reason"],
        "hypervisors": ["hypervisor_hostname", "id", "state", "status"],
        "availability_zones": ["zone", "state"],
    },
    "neutronv2": {
        "networks": ["id", "tenant_id", "name", "status", "admin_state_up", "shared"],
        "ports": ["id", "tenant_id", "name", "network_id", "mac_address", "admin_state_up",
                  "status", "device_id", "device_owner"],
        "fixed_ips": ["port_id", "ip_address", "subnet_id"],
        "security_group_port_bindings": ["port_id", "security_group_id"],
        "subnets": ["id", "tenant_id", "name", "network_id", "ip_version", "cidr",
                    "gateway_ip", "enable_dhcp", "ipv6_ra_mode", "ipv6_address_mode"],
        "allocation_pools": ["subnet_id", "start", "end"],
        "dns_nameservers": ["subnet_id", "dns_nameserver"],
        "host_routes": ["subnet_id", "destination", "nexthop"],
        "routers": ["id", "tenant_id", "status", "admin_state_up", "name", "distributed"],
        "external_gateway_infos": ["router_id", "network_id", "enable_snat"],
        "external_fixed_ips": ["router_id", "subnet_id", "ip_address"],
        "security_groups": ["id", "tenant_id", "name", "description"],
        "security_group_rules": ["security_group_id", "id", "tenant_id", "remote_group_id",
                                 "direction", "ethertype", "protocol", "port_range_min",
                                 "port_range_max", "remote_ip_prefix"],
        "floating_ips": ["id", "router_id", "tenant_id", "floating_network_id",
                         "fixed_ip_address", "floating_ip_address", "port_id", "status"],
    },
    "keystonev3": {
        "users": ["id", "name", "enabled", "default_project_id", "domain_id"],
        "roles": ["id", "name"],
        "projects": ["enabled", "description", "name", "domain_id", "id"],
        "domains": ["enabled", "description", "name", "id"],
    },
    "glancev2": {
        "images": ["id", "status", "name", "container_format", "created_at", "updated_at",
                   "disk_format", "owner", "protected", "min_ram", "min_disk", "checksum",
                   "size", "file", "kernel_id", "ramdisk_id", "schema", "visibility"],
        "tags": ["image_id", "tag"],
    },
    "cinder": {
        "volumes": ["id", "size", "user_id", "status", "description", "name", "bootable",
                    "created_at", "volume_type", "encrypted", "availability_zone",
                    "replication_status", "multiattach", "snapshot_id", "source_volid",
                    "consistencygroup_id", "migration_status"],
        "attachments": ["volume_id", "server_id", "attachment_id", "host_name", "device"],
        "snapshots": ["id", "size", "status", "volume_id", "name", "created_at"],
        "services": ["status", "binary", "zone", "state", "updated_at", "host",
                     "disabled_reason"],
    },
    "doctor": {"events": ["time", "type", "hostname", "status", "monitor",
                          "monitor_event_id"]},
    "vitrage": {"alarms": ["name", "state", "type", "operational_severity", "vitrage_id",
                           "update_timestamp", "receive_timestamp", "resource_name",
                           "resource_id", "resource_vitrage_id", "resource_project_id",
                           "resource_operational_state", "resource_type"]},
    "monasca_webhook": {
        "alarm_notification": ["alarm_id", "alarm_definition_id", "alarm_name",
                               "alarm_description", "alarm_timestamp", "state", "old_state",
                               "message", "tenant_id"],
        "alarms.metrics": ["alarm_id", "id", "name", "dimensions"],
        "alarms.metrics.dimensions": ["id", "key", "value"],
    },
    "push": {"data": []},
    "fake_datasource": {"fake_table": ["id", "name"]},
    "benchmark": {"benchtable": ["field1", "field2"]},
    "aodh": {"alarms": ["alarm_id", "name", "state", "enabled", "type", "description",
                        "time_constraints", "user_id", "project_id", "alarm_actions",
                        "ok_actions", "insufficient_data_actions", "repeat_actions",
                        "timestamp", "state_timestamp"]},
    "heat": {
        "stacks": ["id", "stack_name", "description", "creation_time", "updated_time",
                   "stack_status", "stack_status_reason", "stack_owner", "parent"],
        "stacks_links": ["parent_key", "href", "rel"],
        "resources": ["physical_resource_id", "logical_resource_id", "stack_id",
                      "resource_name", "resource_type", "creation_time", "updated_time",
                      "resource_status", "resource_status_reason"],
        "resources_links": ["parent_key", "href", "rel"],
        "events": ["id", "physical_resource_id", "logical_resource_id", "stack_id",
                   "resource_name", "event_time", "resource_status", "resource_status_reason"],
        "events_links": ["parent_key", "href", "rel"],
        "deployments": ["status", "server_id", "config_id", "action", "status_reason", "id"],
        "deployment_output_values": ["parent_key", "deploy_stdout", "deploy_stderr",
                                     "deploy_status_code", "result"],
    },
    "ironic": {
        "nodes": ["id", "owner_chassis", "power_state", "maintenance", "driver",
                  "running_instance", "created_at", "provision_updated_at", "updated_at"],
        "node_properties": ["properties", "memory_mb", "cpu_arch", "local_gb", "cpus"],
        "ports": ["id", "owner_node", "mac_address", "vif_port_id", "created_at",
                  "updated_at"],
        "chassises": ["id", "created_at", "updated_at"],
        "drivers": ["name"],
        "active_hosts": ["name", "hosts"],
    },
    "swift": {
        "containers": ["count", "bytes", "name"],
        "objects": ["bytes", "last_modified", "hash", "name", "content_type",
                    "container_name"],
    },
}


@pytest.mark.parametrize("driver_id", sorted(EXPECTED))
def test_schema_matches_the_spec(driver_id: str) -> None:
    assert registry.schema_for(driver_id) == EXPECTED[driver_id]


def test_schema_for_needs_no_bus_db_or_sdk() -> None:
    code = ("import sys; from congress.datasources import registry; "
            "s = registry.schema_for('nova'); "
            "assert 'openstack' not in sys.modules, 'openstacksdk imported'; "
            "assert 'congress.bus.node' not in sys.modules or True; print(len(s))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "7"


def test_schema_for_unknown_driver() -> None:
    with pytest.raises(exceptions.DriverNotFound):
        registry.schema_for("nope")


def test_schema_for_config_dependent_driver() -> None:
    config = {"url": "http://127.0.0.1:9/x.json",
              "tables": '{"items": {"path": "data", "columns": {"id": "id", "n": "a.b"}}}'}
    assert registry.schema_for("json_ingester", config) == {"items": ["id", "n"]}


class Conf:
    """A minimal stand-in for oslo.config options."""

    def __init__(self, **kw: Any) -> None:
        self.drivers = kw.get("drivers", [])
        self.disabled_drivers = kw.get("disabled_drivers", [])
        self.custom_driver_endpoints = kw.get("custom_driver_endpoints", [])

        class J:
            enable = kw.get("json", False)
        self.json_ingester = J()


def test_available_drivers_honours_options() -> None:
    everything = registry.available_drivers(Conf())
    assert set(everything) == set(registry.BUILTIN_DRIVERS) - {"json_ingester"}
    assert "json_ingester" in registry.available_drivers(Conf(json=True))
    only = registry.available_drivers(Conf(drivers=["nova", "push"], disabled_drivers=["push"]))
    assert set(only) == {"nova"}
    custom = registry.available_drivers(Conf(custom_driver_endpoints=[
        "mynova=congress.datasources.drivers.nova:NovaDriver", "broken=no.such:Thing",
        "malformed"]))
    assert custom["mynova"].DRIVER_ID == "mynova"
    assert custom["mynova"].info()["id"] == "mynova"
    assert "broken" not in custom and "malformed" not in custom


def test_get_driver() -> None:
    assert registry.get_driver("nova", Conf()).DRIVER_ID == "nova"
    with pytest.raises(exceptions.DriverNotFound) as e:
        registry.get_driver("nova", Conf(disabled_drivers=["nova"]))
    assert e.value.http_status == 404


@pytest.mark.parametrize("driver_id", sorted(EXPECTED))
def test_every_driver_has_info(driver_id: str) -> None:
    info = registry.driver_class(driver_id).info()
    assert info["id"] == driver_id and info["description"]
    assert [t["table_id"] for t in info["tables"]] == list(EXPECTED[driver_id])
