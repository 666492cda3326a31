"""The ``congress-server`` command as installed: choose the allocator, then run the server.

Until that choice this module imports nothing but ``os`` and ``sys``: when ``congress-server``
executes itself again on glibc's malloc (:func:`reexec_on_system_malloc`, why in
:mod:`congress.cmd.allocator`), the first interpreter has done no more than start. Then the
cyclic garbage collector is paused over the imports and the start of the node
(:func:`congress.gcpause.begin_start_up`)."""

from __future__ import annotations

import os
import sys

#: the allocator ``congress-server`` runs Python objects on, unless PYTHONMALLOC says otherwise
SERVER_PYTHONMALLOC = "malloc"


def _glibc() -> bool:
    """Is this process's C library glibc (whose malloc the allocator module can trim)?"""
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (AttributeError, ValueError, OSError):  # not a glibc system
        return False


def reexec_on_system_malloc() -> None:
    """Execute this same command again with ``PYTHONMALLOC=malloc`` (same process id, same
    environment otherwise), unless ``PYTHONMALLOC`` is set already or malloc is not glibc's.
    Returns only when nothing was done or the exec failed."""
    if os.environ.get("PYTHONMALLOC") or not sys.executable or not _glibc():
        return
    os.environ["PYTHONMALLOC"] = SERVER_PYTHONMALLOC
    try:
        os.execv(sys.executable, list(sys.orig_argv))
    except OSError as exc:  # pragma: no cover - e.g. the interpreter was replaced underneath
        print(f"congress-server: cannot execute {sys.executable} again ({exc}); "
              "continuing on CPython's allocator", file=sys.stderr)


def server() -> None:
    reexec_on_system_malloc()
    from congress import gcpause
    gcpause.begin_start_up()  # ended by the server once the node serves (or failed to start)
    from congress.cmd import server as server_command
    server_command.run()
