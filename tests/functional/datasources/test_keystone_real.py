"""The keystonev3 driver against a real Keystone (PyPI ``keystone`` on SQLite under uWSGI):
users, projects and roles created through Keystone's API appear in the tables; an action
changes Keystone; a wrong password is reported in the status."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from congress.datasources.drivers.keystonev3 import KeystoneV3Driver
from tests.functional.datasources.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.functional


def driver(keystone: Any, **extra: Any) -> KeystoneV3Driver:
    cfg = {"auth_url": keystone.url, "username": "admin", "password": ADMIN_PASSWORD,
           "project_name": "admin", "poll_time": "0", **extra}
    return KeystoneV3Driver("keystone", "ds-keystone", cfg)


def test_keystone_tables_and_actions(keystone: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    domain = keystone.api("POST", "/domains", {"domain": {
        "name": f"dom-{tag}", "description": "congress test domain"}})["domain"]
    project = keystone.api("POST", "/projects", {"project": {
        "name": f"proj-{tag}", "domain_id": domain["id"], "description": "test project",
        "enabled": True}})["project"]
    user = keystone.api("POST", "/users", {"user": {
        "name": f"user-{tag}", "domain_id": domain["id"], "password": "pw-" + tag,
        "default_project_id": project["id"], "enabled": True}})["user"]
    role = keystone.api("POST", "/roles", {"role": {"name": f"role-{tag}"}})["role"]
    keystone.api("PUT", f"/projects/{project['id']}/users/{user['id']}/roles/{role['id']}")

    d = driver(keystone)
    assert d.poll(), d.get_status()["last_error"]
    assert (user["id"], f"user-{tag}", "True", project["id"], domain["id"]) \
        in d.table_rows("users")
    assert (role["id"], f"role-{tag}") in d.table_rows("roles")
    assert ("True", "test project", f"proj-{tag}", domain["id"], project["id"]) \
        in d.table_rows("projects")
    assert ("True", "congress test domain", f"dom-{tag}", domain["id"]) \
        in d.table_rows("domains")
    assert ("True", "The default domain", "Default", "default") in d.table_rows("domains")
    assert {r[1] for r in d.table_rows("users")} >= {"admin", f"user-{tag}"}

    d.execute("users.update", {"positional": [user["id"]], "named": {"enabled": False}})
    assert keystone.api("GET", f"/users/{user['id']}")["user"]["enabled"] is False
    d.execute("projects.update", {"positional": [project["id"]],
                                  "named": {"description": "changed by congress"}})
    assert d.poll()
    assert (user["id"], f"user-{tag}", "False", project["id"], domain["id"]) \
        in d.table_rows("users")
    assert ("True", "changed by congress", f"proj-{tag}", domain["id"], project["id"]) \
        in d.table_rows("projects")
    d.stop()


def test_wrong_password_is_reported(keystone: Any) -> None:
    d = driver(keystone, password="not-the-password")
    assert d.poll() is False
    error = d.get_status()["last_error"]
    assert "401" in error or "Unauthorized" in error or "authentication" in error.lower()
    assert "not-the-password" not in error
    d.stop()
