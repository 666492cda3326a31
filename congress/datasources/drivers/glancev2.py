"""``glancev2``: OpenStack Image service v2 (images and their tags).

Reads ``GET /v2/images`` (following ``next``). Actions: glanceclient-style ``images.*`` and
``image_tags.*`` over openstacksdk's image proxy.
"""

from __future__ import annotations

from typing import Any

from congress.datasources.declare import Collection, col, hdict, values
from congress.datasources.execution import ActionClient, namespace
from congress.datasources.openstack import OpenStackDriver, openstack_config

IMAGES = hdict("images",
    col("id", "UUID of image"),
    col("status", "The image status"),
    col("name", "Image Name"),
    col("container_format", "The container format of image"),
    col("created_at", "The date and time when the resource was created"),
    col("updated_at", "The date and time when the resource was updated."),
    col("disk_format", "The disk format of the image."),
    col("owner", "The ID of the owner or tenant of the image"),
    col("protected", "Indicates whether the image can be deleted."),
    col("min_ram", "minimum amount of RAM in MB required to boot the image"),
    col("min_disk", "minimum disk size in GB required to boot the image"),
    col("checksum", "Hash of the image data used"),
    col("size", "The size of the image data, in bytes."),
    col("file", "URL for the virtual machine image file"),
    col("kernel_id", "kernel id"),
    col("ramdisk_id", "ramdisk id"),
    col("schema", "URL for schema of the virtual machine image"),
    col("visibility", "The image visibility"),
    col("tags", translator=values(
        "tags", "tag", "List of image tags",
        parent_key="id", parent_col_name="image_id", parent_key_desc="UUID of image")))


class _Images:
    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def delete(self, image: str) -> None:
        """Delete an image.

        :param image: ID of the image
        """
        self.driver.proxy("image").delete_image(image, ignore_missing=False)

    def deactivate(self, image: str) -> None:
        """Deactivate an image (its data can no longer be downloaded).

        :param image: ID of the image
        """
        self.driver.proxy("image").deactivate_image(image)

    def reactivate(self, image: str) -> None:
        """Reactivate a deactivated image.

        :param image: ID of the image
        """
        self.driver.proxy("image").reactivate_image(image)


class _ImageTags:
    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def update(self, image: str, tag_value: str) -> None:
        """Add a tag to an image.

        :param image: ID of the image
        :param tag_value: the tag
        """
        self.driver.proxy("image").add_tag(image, tag_value)

    def delete(self, image: str, tag_value: str) -> None:
        """Remove a tag from an image.

        :param image: ID of the image
        :param tag_value: the tag
        """
        self.driver.proxy("image").remove_tag(image, tag_value)


class GlanceActions(ActionClient):
    images = namespace(_Images)
    image_tags = namespace(_ImageTags)


class GlanceV2Driver(OpenStackDriver):
    DRIVER_ID = "glancev2"
    DESCRIPTION = "Datasource driver that interfaces with OpenStack Images aka Glance."
    CONFIG = openstack_config()
    PROXY = "image"
    SERVICE_TYPE = "image"
    TRANSLATORS = [IMAGES]
    ACTION_CLIENT = GlanceActions
    COLLECTIONS = {
        "images": Collection("/images", "images"),
    }

    def relative_next(self, link: str) -> str:
        # glance's next links are relative to the unversioned root ("/v2/images?marker=..");
        # the proxy's endpoint already ends with /v2.
        if link.startswith("/v2/"):
            return link[len("/v2"):]
        return link
