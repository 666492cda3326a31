"""``swift``: OpenStack Object Storage (containers and objects of the project's account).

Reads the account listing ``GET <account>?format=json`` and each container's listing (both
paged with ``marker``). Actions: ``delete_object`` / ``delete_container`` over openstacksdk's
object-store proxy.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from congress import exceptions
from congress.datasources.declare import col, hdict
from congress.datasources.execution import ActionClient
from congress.datasources.openstack import OpenStackDriver, openstack_config

_PAGE = 10000

CONTAINERS = hdict("containers",
    col("count", "Number of objects in the container"),
    col("bytes", "Bytes used by the container"),
    col("name", "Name of the container"))

OBJECTS = hdict("objects",
    col("bytes", "Size of the object in bytes"),
    col("last_modified", "Last modification time"),
    col("hash", "MD5 of the object data"),
    col("name", "Name of the object"),
    col("content_type", "Content type"),
    col("container_name", "Container of the object"))


class SwiftActions(ActionClient):
    def delete(self, container: str, *objects: str) -> None:
        """Delete objects of a container, or (no objects named) the container with everything
        in it, as swiftclient's SwiftService.delete did for OpenStack Congress's swift driver.

        :param container: name of the container
        :param objects: names of the objects to delete
        """
        store = self.driver.proxy("object_store")
        names = list(objects) or [o["name"] for o in
                                  self.driver._listing("/" + quote(container, safe=""))]
        for name in names:
            store.delete_object(name, container=container, ignore_missing=False)
        if not objects:
            store.delete_container(container, ignore_missing=False)

    def delete_object(self, container: str, obj: str) -> None:
        """Delete an object.

        :param container: name of the container
        :param obj: name of the object
        """
        self.driver.proxy("object_store").delete_object(obj, container=container,
                                                        ignore_missing=False)

    def delete_container(self, container: str) -> None:
        """Delete an (empty) container.

        :param container: name of the container
        """
        self.driver.proxy("object_store").delete_container(container, ignore_missing=False)


class SwiftDriver(OpenStackDriver):
    DRIVER_ID = "swift"
    DESCRIPTION = "Datasource driver that interfaces with swift."
    CONFIG = openstack_config()
    PROXY = "object_store"
    SERVICE_TYPE = "object-store"
    TRANSLATORS = [CONTAINERS, OBJECTS]
    ACTION_CLIENT = SwiftActions

    def _listing(self, path: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        marker = None
        while True:
            params: dict[str, Any] = {"format": "json", "limit": _PAGE}
            if marker is not None:
                params["marker"] = marker
            page = self.get_json(path, params=params)
            if not isinstance(page, list):
                raise exceptions.DatasourceError(f"Unexpected swift listing of {path or '/'}")
            out.extend(page)
            if len(page) < _PAGE or not page:
                return out
            marker = page[-1].get("name")

    def _containers(self) -> list[dict[str, Any]]:
        containers = self.poll_cache.get("containers")
        if containers is None:
            containers = self.poll_cache["containers"] = self._listing("")
        return containers

    def fetch_containers(self) -> list[Any]:
        return self._containers()

    def fetch_objects(self) -> list[Any]:
        out = []
        for c in self._containers():
            name = c["name"]
            for obj in self._listing("/" + quote(name, safe="")):
                out.append({**obj, "container_name": name})
        return out
