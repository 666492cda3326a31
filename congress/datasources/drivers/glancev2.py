"""``glancev2``: OpenStack Image service v2 (images and their tags).

Reads ``GET /v2/images`` (following ``next``). Actions: glanceclient-style ``images.*`` and
``image_tags.*`` over openstacksdk's image proxy.
"""

from __future__ import annotations

from typing import Any

from congress.datasources.execution import ActionClient, namespace
from congress.datasources.openstack import OpenStackDriver, openstack_config
from congress.datasources.translators import DICT_SELECTOR, HDICT, LIST, VALUE

V = {"translation-type": VALUE}

IMAGES = {
    "translation-type": HDICT, "table-name": "images", "selector-type": DICT_SELECTOR,
    "field-translators": (
        {"fieldname": "id", "desc": "UUID of image", "translator": V},
        {"fieldname": "status", "desc": "The image status", "translator": V},
        {"fieldname": "name", "desc": "Image Name", "translator": V},
        {"fieldname": "container_format", "desc": "The container format of image",
         "translator": V},
        {"fieldname": "created_at", "desc": "The date and time when the resource was created",
         "translator": V},
        {"fieldname": "updated_at", "desc": "The date and time when the resource was updated.",
         "translator": V},
        {"fieldname": "disk_format", "desc": "The disk format of the image.", "translator": V},
        {"fieldname": "owner", "desc": "The ID of the owner or tenant of the image",
         "translator": V},
        {"fieldname": "protected", "desc": "Indicates whether the image can be deleted.",
         "translator": V},
        {"fieldname": "min_ram", "desc": "minimum amount of RAM in MB required to boot the "
                                         "image", "translator": V},
        {"fieldname": "min_disk", "desc": "minimum disk size in GB required to boot the image",
         "translator": V},
        {"fieldname": "checksum", "desc": "Hash of the image data used", "translator": V},
        {"fieldname": "size", "desc": "The size of the image data, in bytes.",
         "translator": V},
        {"fieldname": "file", "desc": "URL for the virtual machine image file",
         "translator": V},
        {"fieldname": "kernel_id", "desc": "kernel id", "translator": V},
        {"fieldname": "ramdisk_id", "desc": "ramdisk id", "translator": V},
        {"fieldname": "schema", "desc": "URL for schema of the virtual machine image",
         "translator": V},
        {"fieldname": "visibility", "desc": "The image visibility", "translator": V},
        {"fieldname": "tags",
         "translator": {"translation-type": LIST, "table-name": "tags",
                        "val-col": "tag", "val-col-desc": "List of image tags",
                        "parent-key": "id", "parent-col-name": "image_id",
                        "parent-key-desc": "UUID of image", "translator": V}},
    )}


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

    def fetch_images(self) -> list[Any]:
        return self.list_json("/images", "images")

    def relative_next(self, link: str) -> str:
        # glance's next links are relative to the unversioned root ("/v2/images?marker=..");
        # the proxy's endpoint already ends with /v2.
        if link.startswith("/v2/"):
            return link[len("/v2"):]
        return link
