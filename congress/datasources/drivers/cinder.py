"""``cinder``: OpenStack Block Storage (volumes with attachments, snapshots, services).

Reads ``GET /volumes/detail?all_tenants=1``, ``/snapshots/detail?all_tenants=1`` and
``/os-services``. Actions: cinderclient-style ``volumes.*`` / ``volume_snapshots.*`` over
openstacksdk's block-storage proxy.
"""

from __future__ import annotations

from typing import Any

from congress.datasources.declare import Collection, col, hdict
from congress.datasources.execution import ActionClient, namespace
from congress.datasources.openstack import OpenStackDriver, openstack_config

VOLUMES = hdict("volumes",
    col("id", "The UUID of the volume"),
    col("size", "The size of the volume, in GiB"),
    col("user_id", "The UUID of the user"),
    col("status", "The volume status"),
    col("description", "The volume description"),
    col("name", "The volume name"),
    col("bootable", "Whether the volume is bootable"),
    col("created_at", "Creation time"),
    col("volume_type", "The associated volume type"),
    col("encrypted", "If true, this volume is encrypted"),
    col("availability_zone", "The availability zone"),
    col("replication_status", "The volume replication status"),
    col("multiattach", "Whether the volume may be attached more than once"),
    col("snapshot_id", "The snapshot it was created from"),
    col("source_volid", "The volume it was cloned from"),
    col("consistencygroup_id", "The consistency group"),
    col("migration_status", "The volume migration status"),
    col("attachments", translator=hdict("attachments",
        col("server_id", "UUID of the server the volume is attached to"),
        col("attachment_id", "UUID of the attachment"),
        col("host_name", "The host of the attachment"),
        col("device", "The device name"),
        parent_key="id", parent_col_name="volume_id", parent_key_desc="UUID of volume",
        in_list=True)))

SNAPSHOTS = hdict("snapshots",
    col("id", "The UUID of the snapshot"),
    col("size", "The size of the snapshot, in GiB"),
    col("status", "The snapshot status"),
    col("volume_id", "The UUID of the volume"),
    col("name", "The snapshot name"),
    col("created_at", "Creation time"))

SERVICES = hdict("services",
    col("status", "The status of the service"),
    col("binary", "The binary name of the service"),
    col("zone", "The availability zone"),
    col("state", "The state of the service (up or down)"),
    col("updated_at", "Last update time"),
    col("host", "The host name"),
    col("disabled_reason", "The reason the service is disabled"))


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
    COLLECTIONS = {
        "volumes": Collection("/volumes/detail", "volumes", {"all_tenants": 1}),
        "snapshots": Collection("/snapshots/detail", "snapshots", {"all_tenants": 1}),
        "services": Collection("/os-services", "services"),
    }
