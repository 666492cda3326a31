"""``aodh``: OpenStack Telemetry alarming (alarms).

Reads ``GET /v2/alarms`` (``/alarms`` of the discovered v2 endpoint) through openstacksdk's
generic ``alarm`` proxy (service type ``alarm``, alias ``alarming``). Lists (actions, time
constraints) are stored as their text.
Actions: ``alarm.delete``.
"""

from __future__ import annotations

from typing import Any

from congress import exceptions
from congress.datasources.declare import col, hdict
from congress.datasources.execution import ActionClient, namespace
from congress.datasources.openstack import OpenStackDriver, openstack_config

ALARMS = hdict("alarms",
    col("alarm_id"),
    col("name"),
    col("state"),
    col("enabled"),
    col("type"),
    col("description"),
    col("time_constraints"),
    col("user_id"),
    col("project_id"),
    col("alarm_actions"),
    col("ok_actions"),
    col("insufficient_data_actions"),
    col("repeat_actions"),
    col("timestamp"),
    col("state_timestamp"))


class _Alarm:
    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def delete(self, alarm_id: str) -> None:
        """Delete an alarm.

        :param alarm_id: ID of the alarm
        """
        self.driver.proxy("alarm").delete(f"/alarms/{alarm_id}")


class AodhActions(ActionClient):
    alarm = namespace(_Alarm)


class AodhDriver(OpenStackDriver):
    DRIVER_ID = "aodh"
    DESCRIPTION = "Datasource driver that interfaces with aodh."
    CONFIG = openstack_config()
    PROXY = "alarm"
    SERVICE_TYPE = "alarm"
    TRANSLATORS = [ALARMS]
    ACTION_CLIENT = AodhActions

    def fetch_alarms(self) -> list[Any]:
        body = self.get_json("/alarms")
        if not isinstance(body, list):
            raise exceptions.DatasourceError("Unexpected answer to GET /v2/alarms: not a list")
        return body
