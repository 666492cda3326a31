"""Congress runs on threads; this keeps eventlet out of the process where the stack allows it.

Importing oslo.messaging pulls in oslo.service, which since release 4 loads a concurrency
backend on first use (eventlet unless another was chosen), and futurist and oslo.utils probe for
eventlet with a plain import. :func:`use_threads` selects oslo.service's threading backend
before oslo.messaging is imported, making ``import eventlet`` fail so that the probes find
nothing (undone if that backend cannot load). Older oslo.service releases (3.x, as Debian 12
ships) have no backends and import eventlet themselves; there it is left alone (those eventlet
releases do not warn either). oslo.messaging's RPC servers run with the threading executor in
both cases (see :mod:`congress.bus.transport`).
"""

from __future__ import annotations

import logging
import sys

LOG = logging.getLogger(__name__)


def use_threads() -> bool:
    """Select the threading backend; True when eventlet is kept out of the process."""
    try:
        from oslo_service import backend
    except ImportError:  # oslo.service < 4: no backends to choose from
        return False
    if backend.get_backend_type() is None:
        blocked = "eventlet" not in sys.modules
        if blocked:  # the threading backend imports futurist, which probes for eventlet
            sys.modules["eventlet"] = None  # type: ignore[assignment]
        try:
            backend.init_backend(backend.BackendType.THREADING)
        except (ImportError, ValueError) as e:  # the threading backend needs cotyledon
            if blocked:
                del sys.modules["eventlet"]
            LOG.debug("oslo.service threading backend unavailable (%s); eventlet stays", e)
            return False
    return backend.get_backend_type() == backend.BackendType.THREADING
