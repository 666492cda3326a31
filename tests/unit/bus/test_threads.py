"""Congress runs on threads: the bus imports oslo.messaging (for a broker) keeping eventlet out."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import congress.cmd.server, congress.bus
from congress.bus import transport
transport.oslo()
try:
    from oslo_service import backend
except ImportError:
    print("no-backends", "eventlet" in sys.modules)
else:
    print(backend.get_backend_type().value, sys.modules.get("eventlet") is None)
"""


def test_the_bus_selects_threads_and_keeps_eventlet_out():
    out = subprocess.run([sys.executable, "-W", "always", "-c", PROBE], capture_output=True,
                         text=True, check=True)
    kind, flag = out.stdout.split()
    if kind == "no-backends":
        # oslo.service 3.x (Debian 12) imports eventlet itself and has nothing to choose
        assert flag == "True"
    else:
        assert (kind, flag) == ("threading", "True"), out
        assert "EventletDeprecationWarning" not in out.stderr, out.stderr
