"""systemd's service notification protocol (``sd_notify``), spoken directly.

A ``Type=notify`` unit gets ``$NOTIFY_SOCKET``: a unix datagram socket (a path, or an abstract
name written with a leading ``@``) to which the service sends newline-separated ``KEY=VALUE``
assignments: ``READY=1`` once it serves, ``STOPPING=1`` when it begins to shut down,
``WATCHDOG=1`` keep-alives when the unit has ``WatchdogSec=`` (``$WATCHDOG_USEC``), ``STATUS=``
free text for ``systemctl status``. Outside systemd (no ``$NOTIFY_SOCKET``) every call is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

LOG = logging.getLogger(__name__)


def _address(env: Mapping[str, str]) -> str | None:
    addr = env.get("NOTIFY_SOCKET", "")
    if not addr:
        return None
    if addr.startswith("@"):
        return "\0" + addr[1:]
    if addr.startswith("/"):
        return addr
    LOG.warning("NOTIFY_SOCKET %r is neither a path nor an abstract socket; not notifying", addr)
    return None


def notify(state: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (e.g. ``"READY=1"``); True if a notification socket took it."""
    addr = _address(os.environ if env is None else env)
    if addr is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(addr)
            sock.sendall(state.encode())
    except OSError as e:
        LOG.warning("could not notify systemd (%s): %s", state.split("\n", 1)[0], e)
        return False
    return True


def watchdog_interval(env: Mapping[str, str] | None = None) -> float | None:
    """Seconds between keep-alives (half of ``WatchdogSec=``), or None without a watchdog.

    ``$WATCHDOG_PID``, when set, names the process the watchdog is for: other processes
    (children that inherited the environment) get None."""
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC", "")
    if not usec:
        return None
    pid = env.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        LOG.warning("WATCHDOG_USEC %r is not a number; no watchdog keep-alives", usec)
        return None
    if value <= 0:
        return None
    return value / 2e6
