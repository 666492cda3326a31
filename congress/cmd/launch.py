"""The ``congress-server`` command as installed: choose the allocator, then run the server.

This module imports nothing heavy: when ``congress-server`` executes itself again on glibc's
malloc (:func:`congress.cmd.allocator.reexec_on_system_malloc`), the first interpreter has done
no more than start.
"""

from __future__ import annotations


def server() -> None:
    from congress.cmd import allocator
    allocator.reexec_on_system_malloc()
    from congress.cmd import server as server_command
    server_command.run()
