"""Every OpenStack driver against the fake cloud: tables, pagination, microversions, errors,
and actions reaching the service through openstacksdk."""

from __future__ import annotations

from typing import Any

import pytest

from congress.datasources import registry
from tests.fakes.openstack_data import DEMO_PROJECT, DEMO_USER

SERVER_1 = "4bd3ac7a-6a63-4c1e-a3f1-0c7b1a3e9d52"
PORT_1 = "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9"
SG_DEFAULT = "2c4e6a8b-0d1f-4a3c-9e5b-7d9f1b3c5e68"
SG_WEB = "8f6d4b2a-0e1c-4d3b-9a5c-7e9a1c3e5b79"
IMAGE_1 = "70a599e0-31e7-49b7-b260-868f441e862b"
VOLUME_1 = "6edbc2f4-1507-44f8-ac0d-eed1d2608d38"
NODE_1 = "1be26c0b-03f2-4d2e-ae87-c02d7f33c123"


def make(driver_id: str, cloud: Any, **extra: Any) -> Any:
    cls = registry.driver_class(driver_id)
    return cls(driver_id, f"ds-{driver_id}", cloud.driver_config(**extra))


def polled(driver_id: str, cloud: Any, **extra: Any) -> Any:
    d = make(driver_id, cloud, **extra)
    assert d.poll(), d.get_status()["last_error"]
    return d


def rows(d: Any, table: str) -> set[tuple]:
    return set(d.table_rows(table))


# --------------------------------------------------------------------------- nova
def test_nova_tables(cloud: Any) -> None:
    d = polled("nova", cloud)
    servers = {r[0]: r for r in rows(d, "servers")}
    assert servers[SERVER_1] == (
        SERVER_1, "web-01", "7c3b2f0c5e8d9a1b4f6e2d3c8a9b0e1f2d3c4b5a6e7f8d9c0b1a2e3f",
        "ACTIVE", DEMO_PROJECT, DEMO_USER, IMAGE_1, "2", "nova", "compute-1.example.com",
        "2024-03-05T10:12:44Z")
    booting = servers["c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f"]
    assert booting[6] == "" and booting[9] == "None"      # boot from volume; no host yet
    assert rows(d, "servers.addresses") == {
        (SERVER_1, "private", "10.0.0.12", 4, "fa:16:3e:4c:2c:30", "fixed"),
        (SERVER_1, "private", "172.24.4.170", 4, "fa:16:3e:4c:2c:30", "floating"),
        ("9e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b", "private", "10.0.0.25", 4,
         "fa:16:3e:aa:01:02", "fixed"),
        ("9e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b", "public", "2001:db8::25", 6,
         "fa:16:3e:aa:01:03", "fixed")}
    assert rows(d, "tags") == {(SERVER_1, "production"), (SERVER_1, "web"),
                               ("c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f", "pci")}
    assert ("3", "m1.medium", 2, 4096, 40, 10, 2.0) in rows(d, "flavors")
    assert ("e7c5a3b1-9d8f-4e6a-b2c0-d4f6a8c0e2b4", "nova-compute", "compute-2", "nova",
            "disabled", "down", "2024-03-08T09:41:17.000000", "maintenance") \
        in rows(d, "services")
    assert ("compute-2.example.com", "3f9d1c7b-5a3e-4f1d-8b9c-0e2a4c6e8f0a", "down",
            "disabled") in rows(d, "hypervisors")
    assert rows(d, "availability_zones") == {("internal", "True"), ("nova", "True"),
                                             ("az-broken", "False")}


def test_nova_pagination_and_microversion(cloud: Any) -> None:
    cloud.page_size = 1
    d = polled("nova", cloud)
    assert len(rows(d, "servers")) == 3
    reqs = [r for r in cloud.requests if r["path"].endswith("/servers/detail")]
    # like nova, a full page carries a next link: the 4th page is empty
    assert len(reqs) == 4
    assert reqs[0]["query"] == {"all_tenants": "1"}
    assert reqs[1]["query"]["marker"] == SERVER_1
    assert {r["microversion"] for r in reqs} == {"2.26"}


def test_nova_old_microversion_has_no_tags(cloud: Any) -> None:
    d = polled("nova", cloud, api_version="2.1")
    assert rows(d, "tags") == set()
    assert len(rows(d, "servers")) == 3


@pytest.mark.parametrize("action,body,status", [
    ("servers.pause", {"pause": None}, "PAUSED"),
    ("servers.suspend", {"suspend": None}, "SUSPENDED"),
    ("servers.stop", {"os-stop": None}, "SHUTOFF"),
    ("servers.start", {"os-start": None}, "ACTIVE"),
])
def test_nova_server_actions(cloud: Any, action: str, body: dict, status: str) -> None:
    d = make("nova", cloud)
    d.execute(action, {"positional": [SERVER_1]})
    posted = [a for a in cloud.actions if a["path"].endswith(f"/servers/{SERVER_1}/action")]
    assert posted[-1]["body"] == body
    assert cloud.data["servers"][0]["status"] == status


def test_nova_delete_and_set_meta(cloud: Any) -> None:
    d = make("nova", cloud)
    d.execute("servers_set_meta", {"positional": [SERVER_1, "owner", "ops", "tier", "1"]})
    meta = [a for a in cloud.actions if a["path"].endswith("/metadata")]
    assert meta[-1]["body"] == {"metadata": {"owner": "ops", "tier": "1"}}
    d.execute("servers.delete", {"positional": [SERVER_1]})
    assert cloud.actions[-1]["method"] == "DELETE"
    assert SERVER_1 not in {s["id"] for s in cloud.data["servers"]}
    d.poll()
    assert SERVER_1 not in {r[0] for r in rows(d, "servers")}


def test_nova_doctor_actions(cloud: Any) -> None:
    """What the OPNFV Doctor policy runs when a host fails: reset its servers to error and
    force its compute service down."""
    d = make("nova", cloud)
    names = {a["name"] for a in d.get_actions()["results"]}
    assert {"servers.reset_state", "services.force_down"} <= names
    d.execute("servers.reset_state", {"positional": [SERVER_1, "error"]})
    assert cloud.actions[-1]["body"] == {"os-resetState": {"state": "error"}}
    assert cloud.data["servers"][0]["status"] == "ERROR"
    d.execute("services.force_down", {"positional": ["compute-1", "nova-compute", "True"]})
    assert cloud.actions[-1]["method"] == "PUT"
    assert cloud.actions[-1]["path"].endswith("/os-services/force-down")
    assert cloud.actions[-1]["body"] == {"host": "compute-1", "binary": "nova-compute",
                                        "forced_down": True}
    assert cloud.data["compute_services"][0]["forced_down"] is True
    d.poll()
    assert ("ERROR" in {r[3] for r in rows(d, "servers") if r[0] == SERVER_1})
    with pytest.raises(Exception) as e:
        d.execute("services.force_down", {"positional": ["no-such-host", "nova-compute"]})
    assert "404" in str(e.value)


def test_nova_reboot_with_named_args(cloud: Any) -> None:
    d = make("nova", cloud)
    d.execute("servers.reboot", {"positional": [SERVER_1], "named": {"reboot_type": "HARD"}})
    assert cloud.actions[-1]["body"] == {"reboot": {"type": "HARD"}}


# --------------------------------------------------------------------------- neutron
def test_neutron_tables(cloud: Any) -> None:
    cloud.page_size = 1                      # networks_links pagination too
    d = polled("neutronv2", cloud)
    assert ("5b5f0a5c-1b8a-4f5e-9d7a-2a1f6c3e8b90", DEMO_PROJECT, "private", "ACTIVE",
            "True", "False") in rows(d, "networks")
    assert len(rows(d, "networks")) == 2
    assert rows(d, "fixed_ips") == {
        (PORT_1, "10.0.0.12", "1f3e5d7c-9b2a-4c6e-8d0f-2a4b6c8e0a13"),
        ("0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d", "2001:db8::a",
         "9e7c5a3b-1d2f-4e6a-8c0b-3d5f7a9c1e24"),
        ("0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d", "2001:db8::b",
         "9e7c5a3b-1d2f-4e6a-8c0b-3d5f7a9c1e24")}
    assert rows(d, "security_group_port_bindings") == {(PORT_1, SG_DEFAULT), (PORT_1, SG_WEB)}
    assert ("1f3e5d7c-9b2a-4c6e-8d0f-2a4b6c8e0a13", "10.0.0.2", "10.0.0.254") \
        in rows(d, "allocation_pools")
    assert len(rows(d, "dns_nameservers")) == 2
    assert rows(d, "host_routes") == {("1f3e5d7c-9b2a-4c6e-8d0f-2a4b6c8e0a13",
                                       "192.168.0.0/16", "10.0.0.254")}
    assert rows(d, "external_gateway_infos") == {
        ("a7c9e1b3-5d7f-4b2a-8c4e-6f8a0c2e4d91", "c4a2e8d6-3f1b-4a7c-9e5d-8b2f6a1c3e74", "True")}
    assert rows(d, "external_fixed_ips") == {
        ("a7c9e1b3-5d7f-4b2a-8c4e-6f8a0c2e4d91", "9e7c5a3b-1d2f-4e6a-8c0b-3d5f7a9c1e24",
         "2001:db8::a")}
    assert (SG_WEB, "33a3b3c3-d3e3-4f33-8a33-b3c3d3e3f333", DEMO_PROJECT, "None", "ingress",
            "IPv4", "tcp", 80, 80, "0.0.0.0/0") in rows(d, "security_group_rules")
    assert len(rows(d, "security_group_rules")) == 4
    assert ("898b198e-49f7-47d6-a7e1-53f626a548e6", "None", DEMO_PROJECT,
            "c4a2e8d6-3f1b-4a7c-9e5d-8b2f6a1c3e74", "None", "172.24.4.228", "None", "DOWN") \
        in rows(d, "floating_ips")


def test_neutron_security_group_wrappers(cloud: Any) -> None:
    d = make("neutronv2", cloud)
    d.execute("detach_port_security_group", {"positional": [PORT_1, SG_WEB]})
    put = [a for a in cloud.actions if a["method"] == "PUT"]
    assert put[-1]["body"] == {"port": {"security_groups": [SG_DEFAULT]}}
    n = len(cloud.actions)
    d.execute("detach_port_security_group", {"positional": [PORT_1, SG_WEB]})
    assert len(cloud.actions) == n           # already detached: no-op
    d.execute("attach_port_security_group", {"positional": [PORT_1, SG_WEB]})
    assert cloud.actions[-1]["body"] == {"port": {"security_groups": [SG_DEFAULT, SG_WEB]}}


def test_neutron_update_resource_attrs_and_delete(cloud: Any) -> None:
    d = make("neutronv2", cloud)
    d.execute("update_resource_attrs",
              {"positional": ["port", PORT_1, "admin_state_up", False, "name", "quarantined"]})
    assert cloud.actions[-1]["body"] == {"port": {"admin_state_up": False,
                                                  "name": "quarantined"}}
    d.execute("delete_security_group_rule",
              {"positional": ["44a4b4c4-d4e4-4f44-8a44-b4c4d4e4f444"]})
    assert cloud.actions[-1]["method"] == "DELETE"
    assert cloud.actions[-1]["path"].endswith("/security-group-rules/"
                                              "44a4b4c4-d4e4-4f44-8a44-b4c4d4e4f444")
    names = {a["name"] for a in d.get_actions()["results"]}
    assert "update_port" not in names and "delete_port" in names


# --------------------------------------------------------------------------- keystone
def test_keystonev3_tables_and_action(cloud: Any) -> None:
    d = polled("keystonev3", cloud)
    assert (DEMO_USER, "demo", "False", "None", "default") in rows(d, "users")
    assert ("9fe2ff9ee4384b1894a90878d3e92bab", "admin") in rows(d, "roles")
    assert ("True", "", "demo", "default", DEMO_PROJECT) in rows(d, "projects")
    assert rows(d, "domains") == {("True", "The default domain", "Default", "default")}
    d.execute("users.update", {"positional": [DEMO_USER], "named": {"enabled": True}})
    assert cloud.actions[-1]["method"] == "PATCH"
    assert cloud.actions[-1]["body"] == {"user": {"enabled": True}}


# --------------------------------------------------------------------------- glance
def test_glancev2_tables_with_next_links(cloud: Any) -> None:
    cloud.page_size = 2
    d = polled("glancev2", cloud)
    images = {r[0]: r for r in rows(d, "images")}
    assert len(images) == 3
    assert images["5c3b7f1e-2d4a-4e6c-8b0a-9f1d3e5c7a9b"] == (
        "5c3b7f1e-2d4a-4e6c-8b0a-9f1d3e5c7a9b", "active", "ubuntu-22.04-kernel", "aki",
        "2024-03-01T11:00:00Z", "2024-03-01T11:05:00Z", "aki", DEMO_PROJECT, "True", 512, 2,
        "None", "None", "/v2/images/5c3b7f1e/file", "b7a9c1e3-d5f7-4a9b-8c1d-e3f5a7b9c1d3",
        "f1a3c5e7-b9d1-4f3a-8e5c-7a9c1e3f5a7b", "/v2/schemas/image", "private")
    assert rows(d, "tags") == {(IMAGE_1, "cirros"), (IMAGE_1, "test"),
                               ("e5d4c3b2-a1f0-4e9d-8c7b-6a5f4e3d2c1b", "pending")}
    pages = [r for r in cloud.requests if r["path"] == "/image/v2/images"]
    assert len(pages) == 2


def test_glancev2_actions(cloud: Any) -> None:
    d = make("glancev2", cloud)
    d.execute("images.deactivate", {"positional": [IMAGE_1]})
    assert cloud.actions[-1]["path"].endswith(f"/images/{IMAGE_1}/actions/deactivate")
    d.execute("image_tags.update", {"positional": [IMAGE_1, "quarantine"]})
    d.poll()
    assert (IMAGE_1, "quarantine") in rows(d, "tags")
    assert tuple(r[1] for r in rows(d, "images") if r[0] == IMAGE_1) == ("deactivated",)


# --------------------------------------------------------------------------- cinder
def test_cinder_tables_and_action(cloud: Any) -> None:
    d = polled("cinder", cloud)
    vols = {r[0]: r for r in rows(d, "volumes")}
    assert vols[VOLUME_1] == (
        VOLUME_1, 10, DEMO_USER, "in-use", "data disk", "vol-data", "false",
        "2024-03-05T11:00:00.000000", "lvmdriver-1", "False", "nova", "None", "False", "None",
        "None", "None", "None")
    assert rows(d, "attachments") == {(VOLUME_1, SERVER_1, "d3f2e1c0-b9a8-4765-9432-10fedcba9876",
                                       "compute-1", "/dev/vdb")}
    assert len(rows(d, "snapshots")) == 1
    assert ("enabled", "cinder-volume", "nova", "down", "2024-03-08T08:00:00.000000",
            "controller@lvmdriver-1", "None") in rows(d, "services")
    assert all(r["query"].get("all_tenants") == "1" for r in cloud.requests
               if r["path"].endswith("/detail"))
    d.execute("volumes.extend", {"positional": [VOLUME_1, 20]})
    assert cloud.actions[-1]["body"] == {"os-extend": {"new_size": 20}}


# --------------------------------------------------------------------------- heat
def test_heat_tables(cloud: Any) -> None:
    d = polled("heat", cloud)
    stack_id = "3095aefc-09fb-4bc7-b1f0-f21a304e864c"
    assert {r[0] for r in rows(d, "stacks")} == {stack_id}
    assert {r[0] for r in rows(d, "stacks_links")} == {stack_id}
    res = next(iter(rows(d, "resources")))
    assert res[2] == stack_id and res[4] == "OS::Nova::Server"
    assert len(rows(d, "resources_links")) == 2
    assert next(iter(rows(d, "events")))[3] == stack_id
    assert rows(d, "deployment_output_values") == {
        ("06e87bcc-33a2-4bce-aebd-533e698282d3", "ok\n", "", 0, "The result value")}
    # the stack listing is fetched once per poll, shared by stacks, resources and events
    assert sum(1 for r in cloud.requests if r["path"].endswith("/stacks")) == 1


# --------------------------------------------------------------------------- ironic
def test_ironic_tables_and_action(cloud: Any) -> None:
    d = polled("ironic", cloud)
    assert (NODE_1, 131072, "x86_64", 500, 32) in rows(d, "node_properties")
    node = next(r for r in rows(d, "nodes") if r[0] == NODE_1)
    assert node[1:6] == ("dff29d23-1ded-43b4-8ae1-5eebb3e30de1", "power on", "False", "ipmi",
                         SERVER_1)
    assert next(iter(rows(d, "ports")))[3] == PORT_1
    assert rows(d, "active_hosts") == {("ipmi", "conductor-1"), ("ipmi", "conductor-2"),
                                       ("redfish", "conductor-1")}
    assert {r[0] for r in rows(d, "chassises")} == {"dff29d23-1ded-43b4-8ae1-5eebb3e30de1"}
    d.execute("node.set_maintenance", {"positional": [NODE_1, "true", "disk failure"]})
    assert cloud.actions[-1]["path"].endswith(f"/nodes/{NODE_1}/maintenance")
    d.poll()
    assert next(r for r in rows(d, "nodes") if r[0] == NODE_1)[3] == "True"


# --------------------------------------------------------------------------- swift
def test_swift_tables_and_action(cloud: Any) -> None:
    d = polled("swift", cloud)
    assert rows(d, "containers") == {(2, 1572864, "backups"), (1, 2048, "public-assets"),
                                     (0, 0, "empty")}
    assert (524288, "2024-03-08T01:00:00.000000", "9e107d9d372bb6826bd81d3542a419d6",
            "db-2024-03-08.tar.gz", "application/gzip", "backups") in rows(d, "objects")
    d.execute("delete_object", {"positional": ["backups", "db-2024-03-07.tar.gz"]})
    assert cloud.actions[-1]["method"] == "DELETE"
    d.poll()
    assert len(rows(d, "objects")) == 2
    # the swiftclient-style delete OpenStack Congress's swift driver did: named objects, or the
    # whole container
    names = {a["name"] for a in d.get_actions()["results"]}
    assert {"delete", "delete_object", "delete_container"} <= names
    d.execute("delete", {"positional": ["backups"]})
    d.poll()
    assert "backups" not in {r[2] for r in rows(d, "containers")}
    assert "backups" not in {r[5] for r in rows(d, "objects")}
    assert [a["method"] for a in cloud.actions[-2:]] == ["DELETE", "DELETE"]


# --------------------------------------------------------------------------- aodh
def test_aodh_tables_and_action(cloud: Any) -> None:
    d = polled("aodh", cloud)
    alarm = next(r for r in rows(d, "alarms") if r[1] == "cpu_high")
    assert alarm[:6] == ("b8e17f58-089a-43fc-a96b-e9bcac4d4b53", "cpu_high", "alarm", "True",
                         "gnocchi_aggregation_by_resources_threshold", "CPU usage above 90%")
    assert alarm[9] == "['http://alarm-handler.example/cpu']"
    d.execute("alarm.delete", {"positional": ["b8e17f58-089a-43fc-a96b-e9bcac4d4b53"]})
    d.poll()
    assert len(rows(d, "alarms")) == 1


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("driver_id,pattern", [
    ("neutronv2", r"/v2\.0/ports$"), ("glancev2", r"/v2/images$"),
    ("cinder", r"/volumes/detail$"), ("heat", r"/stacks$"), ("ironic", r"/nodes/detail$"),
    ("swift", r"/AUTH_[0-9a-f]+$"), ("aodh", r"/v2/alarms$"), ("keystonev3", r"/v3/users$"),
])
@pytest.mark.parametrize("status", [403, 500])
def test_service_errors_are_reported_and_recovered(cloud: Any, driver_id: str, pattern: str,
                                                   status: int) -> None:
    d = polled(driver_id, cloud)
    cloud.inject(pattern, status=status)
    assert d.poll() is False
    assert str(status) in d.get_status()["last_error"]
    cloud.clear_injections()
    assert d.poll() is True
    assert d.get_status()["last_error"] == "None"


def test_endpoint_override(cloud: Any) -> None:
    d = polled("nova", cloud, endpoint=f"{cloud.url}/compute/v2.1")
    assert len(rows(d, "servers")) == 3


def test_unauthorized_answer_is_reported(cloud: Any) -> None:
    d = polled("nova", cloud)
    cloud.inject(r"/flavors/detail$", status=401)
    assert d.poll() is False
    assert "401" in d.get_status()["last_error"]
    cloud.clear_injections()
    assert d.poll() is True


def test_fake_datasource_push_webhook_and_history() -> None:
    cls = registry.driver_class("fake_datasource")
    d = cls("fake", "id", {"auth_url": "x", "username": "u", "password": "p",
                           "project_name": "p", "poll_time": 0})
    assert d.poll() and d.polls == 1
    d.replace_table("fake_table", [{"id": 1, "name": "one"}])
    assert d.get_rows("fake_table") == [[1, "one"]]
    d.webhook({"hello": "world"})
    assert d.webhook_payloads == [{"hello": "world"}]
    d.execute("fake_act", {"positional": ["s1"]})
    assert d.exec_history == [("fake_act", {"positional": ["s1"], "named": {}})]
    assert [a["name"] for a in d.get_actions()["results"]] == ["fake_act"]
