"""``cinder``: OpenStack Block Storage (volumes with attachments, snapshots, services).

Reads ``GET /volumes/detail?all_tenants=1``, ``/snapshots/detail?all_tenants=1`` and
``/os-services``. Actions: cinderclient-style ``volumes.*`` / ``volume_snapshots.*`` over
openstacksdk's block-storage proxy.
"""

from __future__ import annotations

from typing import Any

from congress.datasources.execution import ActionClient, namespace
from congress.datasources.openstack import OpenStackDriver, openstack_config
from congress.datasources.translators import DICT_SELECTOR, HDICT, VALUE

V = {"translation-type": VALUE}

VOLUMES = {
    "translation-type": HDICT, "table-name": "volumes", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "id", "desc": "The UUID of the volume", "translator": V},
        {"fieldname": "size", "desc": "The size of the volume, in GiB", "translator": V},
        {"fieldname": "user_id", "desc": "The UUID of the user", "translator": V},
        {"fieldname": "status", "desc": "The volume status", "translator": V},
        {"fieldname": "description", "desc": "The volume description", "translator": V},
        {"fieldname": "name", "desc": "The volume name", "translator": V},
        {"fieldname": "bootable", "desc": "Whether the volume is bootable", "translator": V},
        {"fieldname": "created_at", "desc": "Creation time", "translator": V},
        {"fieldname": "volume_type", "desc": "The associated volume type", "translator": V},
        {"fieldname": "encrypted", "desc": "If true, this volume is encrypted",
         "translator": V},
        {"fieldname": "availability_zone", "desc": "The availability zone", "translator": V},
        {"fieldname": "replication_status", "desc": "The volume replication status",
         "translator": V},
        {"fieldname": "multiattach", "desc": "Whether the volume may be attached more than "
                                             "once", "translator": V},
        {"fieldname": "snapshot_id", "desc": "The snapshot it was created from",
         "translator": V},
        {"fieldname": "source_volid", "desc": "The volume it was cloned from",
         "translator": V},
        {"fieldname": "consistencygroup_id", "desc": "The consistency group",
         "translator": V},
        {"fieldname": "migration_status", "desc": "The volume migration status",
         "translator": V},
        {"fieldname": "attachments",
         "translator": {
             "translation-type": HDICT, "table-name": "attachments", "parent-key": "id",
             "parent-col-name": "volume_id", "parent-key-desc": "UUID of volume",
             "selector-type": DICT_SELECTOR, "in-list": True,
             "field-translators": (
                 {"fieldname": "server_id", "desc": "UUID of the server the volume is "
                                                    "attached to", "translator": V},
                 {"fieldname": "attachment_id", "desc": "UUID of the attachment",
                  "translator": V},
                 {"fieldname": "host_name", "desc": "The host of the attachment",
                  "translator": V},
                 {"fieldname": "device", "desc": "The device name", "translator": V})}},
    )}

SNAPSHOTS = {
    "translation-type": HDICT, "table-name": "snapshots", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "id", "desc": "The UUID of the snapshot", "translator": V},
        {"fieldname": "size", "desc": "The size of the snapshot, in GiB", "translator": V},
        {"fieldname": "status", "desc": "The snapshot status", "translator": V},
        {"fieldname": "volume_id", "desc": "The UUID of the volume", "translator": V},
        {"fieldname": "name", "desc": "The snapshot name", "translator": V},
        {"fieldname": "created_at", "desc": "Creation time", "translator": V},
    )}

SERVICES = {
    "translation-type": HDICT, "table-name": "services", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "status", "desc": "The status of the service", "translator": V},
        {"fieldname": "binary", "desc": "The binary name of the service", "translator": V},
        {"fieldname": "zone", "desc": "The availability zone", "translator": V},
        {"fieldname": "state", "desc": "The state of the service (up or down)",
         "translator": V},
        {"fieldname": "updated_at", "desc": "Last update time", "translator": V},
        {"fieldname": "host", "desc": "The host name", "translator": V},
        {"fieldname": "disabled_reason", "desc": "The reason the service is disabled",
         "translator": V},
    )}


class _Volumes:
    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def delete(self, volume: str) -> None:
        """Delete a volume.

        :param volume: ID of the volume
        """
        self.driver.proxy("block_storage").delete_volume(volume, ignore_missing=False)

    def extend(self, volume: str, new_size: int) -> None:
        """Extend a volume.

        :param volume: ID of the volume
        :param new_size: the new size in GiB
        """
        self.driver.proxy("block_storage").extend_volume(volume, int(new_size))


class _Snapshots:
    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def delete(self, snapshot: str) -> None:
        """Delete a volume snapshot.

        :param snapshot: ID of the snapshot
        """
        self.driver.proxy("block_storage").delete_snapshot(snapshot, ignore_missing=False)


class CinderActions(ActionClient):
    volumes = namespace(_Volumes)
    volume_snapshots = namespace(_Snapshots)


class CinderDriver(OpenStackDriver):
    DRIVER_ID = "cinder"
    DESCRIPTION = "Datasource driver that interfaces with OpenStack cinder."
    CONFIG = openstack_config()
    PROXY = "block_storage"
    SERVICE_TYPE = "block-storage"
    TRANSLATORS = [VOLUMES, SNAPSHOTS, SERVICES]
    ACTION_CLIENT = CinderActions

    def fetch_volumes(self) -> list[Any]:
        return self.list_json("/volumes/detail", "volumes", params={"all_tenants": 1})

    def fetch_snapshots(self) -> list[Any]:
        return self.list_json("/snapshots/detail", "snapshots", params={"all_tenants": 1})

    def fetch_services(self) -> list[Any]:
        return self.list_json("/os-services", "services")
