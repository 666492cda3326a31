"""Logging for Congress processes: one line per event, key facts first, JSON on request."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

NOISY = ("oslo_messaging", "oslo.messaging", "amqp", "kombu", "stevedore", "urllib3",
         "waitress", "keystoneauth", "openstack", "alembic.runtime.migration",
         "alembic.runtime.plugins", "oslo_service", "oslo_policy")


class JsonFormatter(logging.Formatter):
    def __init__(self, node_id: str) -> None:
        super().__init__()
        self.node_id = node_id

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "node": self.node_id,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out)


def setup(conf: Any) -> None:
    """Configure the root logger from ``debug``, ``log_file`` and ``log_json``."""
    handler: logging.Handler
    if conf.log_file:
        handler = logging.FileHandler(conf.log_file)
    else:
        handler = logging.StreamHandler(sys.stderr)
    node = getattr(conf, "node_id", "-")
    if conf.log_json:
        handler.setFormatter(JsonFormatter(node))
    else:
        handler.setFormatter(logging.Formatter(
            f"%(asctime)s %(levelname)s %(name)s [node={node}] %(message)s"))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    apply_levels(conf)


def apply_levels(conf: Any) -> None:
    """Set the log levels from ``debug`` (at start, and again on SIGHUP)."""
    logging.getLogger().setLevel(logging.DEBUG if conf.debug else logging.INFO)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.DEBUG if conf.debug else logging.WARNING)

