"""``/v1/system/drivers[/{driver_id}]`` -> service ``_ds_manager``."""

from __future__ import annotations

import falcon

from congress.api.base import Resource, send_collection, send_item
from congress.bus.service_ids import DS_MANAGER


class Drivers(Resource):
    """``/v1/system/drivers``: ``{"results": [{"id", "description"}, ...]}``"""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send_collection(resp, self.call(DS_MANAGER, "list_drivers"))


class Driver(Resource):
    """``/v1/system/drivers/{driver_id}``: config options, secret fields, tables."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, driver_id: str) -> None:
        send_item(resp, self.call(DS_MANAGER, "get_driver", driver_id=driver_id))
