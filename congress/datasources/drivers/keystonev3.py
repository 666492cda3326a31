"""``keystonev3``: OpenStack Identity v3 (users, roles, projects, domains).

Reads ``GET /v3/users``, ``/v3/roles``, ``/v3/projects``, ``/v3/domains`` (following
``links.next``). Actions: keystoneclient-style ``users.*`` / ``projects.*`` methods over
openstacksdk's identity proxy.
"""

from __future__ import annotations

from typing import Any

from congress.datasources.execution import ActionClient, namespace
from congress.datasources.openstack import OpenStackDriver, openstack_config
from congress.datasources.translators import DICT_SELECTOR, HDICT, VALUE

V = {"translation-type": VALUE}

USERS = {
    "translation-type": HDICT, "table-name": "users", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "id", "desc": "The ID for the user.", "translator": V},
        {"fieldname": "name", "desc": "username, unique within domain", "translator": V},
        {"fieldname": "enabled", "desc": "user is enabled or not", "translator": V},
        {"fieldname": "default_project_id", "desc": "ID of the default project for the user",
         "translator": V},
        {"fieldname": "domain_id", "desc": "The ID of the domain for the user.",
         "translator": V},
    )}

ROLES = {
    "translation-type": HDICT, "table-name": "roles", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "id", "desc": "role ID", "translator": V},
        {"fieldname": "name", "desc": "role name", "translator": V},
    )}

PROJECTS = {
    "translation-type": HDICT, "table-name": "projects", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "enabled", "desc": "project is enabled or not", "translator": V},
        {"fieldname": "description", "desc": "project description", "translator": V},
        {"fieldname": "name", "desc": "project name", "translator": V},
        {"fieldname": "domain_id", "desc": "ID of the domain for the project",
         "translator": V},
        {"fieldname": "id", "desc": "ID for the project", "translator": V},
    )}

DOMAINS = {
    "translation-type": HDICT, "table-name": "domains", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "enabled", "desc": "domain is enabled or disabled", "translator": V},
        {"fieldname": "description", "desc": "domain description", "translator": V},
        {"fieldname": "name", "desc": "domain name", "translator": V},
        {"fieldname": "id", "desc": "domain ID", "translator": V},
    )}


class _Users:
    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def update(self, user: str, **attrs: Any) -> Any:
        """Update a user (e.g. enabled=False).

        :param user: ID of the user
        :param attrs: attributes to change (name, enabled, email, default_project_id ...)
        """
        return self.driver.proxy("identity").update_user(user, **attrs)

    def delete(self, user: str) -> None:
        """Delete a user.

        :param user: ID of the user
        """
        self.driver.proxy("identity").delete_user(user, ignore_missing=False)


class _Projects:
    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def update(self, project: str, **attrs: Any) -> Any:
        """Update a project (e.g. enabled=False).

        :param project: ID of the project
        :param attrs: attributes to change (name, enabled, description ...)
        """
        return self.driver.proxy("identity").update_project(project, **attrs)

    def delete(self, project: str) -> None:
        """Delete a project.

        :param project: ID of the project
        """
        self.driver.proxy("identity").delete_project(project, ignore_missing=False)


class KeystoneActions(ActionClient):
    users = namespace(_Users)
    projects = namespace(_Projects)


class KeystoneV3Driver(OpenStackDriver):
    DRIVER_ID = "keystonev3"
    DESCRIPTION = "Datasource driver that interfaces with keystone."
    CONFIG = openstack_config()
    PROXY = "identity"
    SERVICE_TYPE = "identity"
    TRANSLATORS = [USERS, ROLES, PROJECTS, DOMAINS]
    ACTION_CLIENT = KeystoneActions

    def fetch_users(self) -> list[Any]:
        return self.list_json("/users", "users")

    def fetch_roles(self) -> list[Any]:
        return self.list_json("/roles", "roles")

    def fetch_projects(self) -> list[Any]:
        return self.list_json("/projects", "projects")

    def fetch_domains(self) -> list[Any]:
        return self.list_json("/domains", "domains")
