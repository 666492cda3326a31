"""Webhook drivers whose rows expire after ``hours_to_keep_alarm`` (vitrage, monasca_webhook).

A thread removes old rows every ``max(hours * 360, 1)`` seconds. Unlike OpenStack Congress (whose
cleanup ran twice per period and never published), the removal is published and, with
``persist_data``, stored, so policy engines drop expired alarms at once.
"""

from __future__ import annotations

import datetime
import logging
import threading
from typing import Any

from congress.datasources.driver import PushDriver, opt

LOG = logging.getLogger(__name__)


def parse_time(value: Any) -> datetime.datetime | None:
    """An aware UTC datetime from ISO-8601 text or epoch seconds/milliseconds; None if not."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        seconds = value / 1000.0 if value > 1e11 else float(value)
        return datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    if isinstance(value, str):
        text = value.strip()
        try:
            return parse_time(float(text))
        except ValueError:
            pass
        try:
            t = datetime.datetime.fromisoformat(text)
        except ValueError:
            return None
        if t.tzinfo is None:
            t = t.replace(tzinfo=datetime.UTC)
        return t
    return None


class ExpiringPushDriver(PushDriver):
    CONFIG = {
        "persist_data": opt(type="bool", default=False,
                            desc="Store received rows in the database and restore them"),
        "hours_to_keep_alarm": opt(type="float", default=240,
                                   desc="Hours after which an alarm is removed"),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hours_to_keep_alarm = float(self.config.get("hours_to_keep_alarm", 240))
        self._cleanup_stop = threading.Event()
        self._cleanup_thread: threading.Thread | None = None

    @property
    def cleanup_interval(self) -> float:
        return max(self.hours_to_keep_alarm * 360.0, 1.0)

    def start(self) -> None:
        super().start()
        self._cleanup_stop.clear()
        self._cleanup_thread = threading.Thread(target=self._cleanup_loop, daemon=True,
                                                name=f"expire-{self.name}")
        self._cleanup_thread.start()

    def stop(self) -> None:
        self._cleanup_stop.set()
        thread, self._cleanup_thread = self._cleanup_thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        super().stop()

    def _cleanup_loop(self) -> None:
        while not self._cleanup_stop.wait(self.cleanup_interval):
            try:
                self.expire()
            except Exception:
                LOG.exception("Datasource %s: removing old alarms failed", self.name)

    def is_expired(self, value: Any, now: datetime.datetime) -> bool:
        t = parse_time(value)
        if t is None:
            return False
        return now - t >= datetime.timedelta(hours=self.hours_to_keep_alarm)

    def expire(self, now: datetime.datetime | None = None) -> int:
        """Remove the alarms older than ``hours_to_keep_alarm``; returns how many."""
        raise NotImplementedError
