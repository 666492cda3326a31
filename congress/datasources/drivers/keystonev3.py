"""``keystonev3``: OpenStack Identity v3 (users, roles, projects, domains).

Reads ``GET /v3/users``, ``/v3/roles``, ``/v3/projects``, ``/v3/domains`` (following
``links.next``). Actions: keystoneclient-style ``users.*`` / ``projects.*`` methods over
openstacksdk's identity proxy.
"""

from __future__ import annotations

from typing import Any

from congress.datasources.declare import Collection, col, hdict
from congress.datasources.execution import ActionClient, namespace
from congress.datasources.openstack import OpenStackDriver, openstack_config

USERS = hdict("users",
    col("id", "The ID for the user."),
    col("name", "username, unique within domain"),
    col("enabled", "user is enabled or not"),
    col("default_project_id", "ID of the default project for the user"),
    col("domain_id", "The ID of the domain for the user."))

ROLES = hdict("roles",
    col("id", "role ID"),
    col("name", "role name"))

PROJECTS = hdict("projects",
    col("enabled", "project is enabled or not"),
    col("description", "project description"),
    col("name", "project name"),
    col("domain_id", "ID of the domain for the project"),
    col("id", "ID for the project"))

DOMAINS = hdict("domains",
    col("enabled", "domain is enabled or disabled"),
    col("description", "domain description"),
    col("name", "domain name"),
    col("id", "domain ID"))


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
    COLLECTIONS = {
        "users": Collection("/users", "users"),
        "roles": Collection("/roles", "roles"),
        "projects": Collection("/projects", "projects"),
        "domains": Collection("/domains", "domains"),
    }
