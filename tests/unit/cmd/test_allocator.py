"""congress.cmd.allocator: the arena limit, the trimmer and the re-exec on glibc's malloc give
freed memory back."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from congress.cmd import allocator, launch

pytestmark = pytest.mark.skipif(not allocator.available(), reason="needs glibc's malloc")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_limit_arenas_is_accepted():
    assert allocator.limit_arenas(0) is False      # 0: leave glibc's default
    assert allocator.limit_arenas(8) is True       # the default of a 1-core machine: harmless


def test_trimmer_returns_freed_holes_of_the_heap():
    allocator.trim()                               # what earlier tests freed is not counted
    trimmer = allocator.Trimmer(threshold=16 * 2**20, interval=3600)
    assert trimmer.check() is False                # nothing freed yet
    # 64 KiB blocks come from the heap (below the mmap threshold); keeping every other one
    # alive leaves 32 MiB of holes that the heap's top cannot give back
    blocks = [bytearray(b"x" * 65536) for _ in range(1024)]
    # the blocks may reuse space that was free when the trimmer started: a check now lets
    # the base follow the free bytes down, as the background thread's checks would
    assert trimmer.check() is False
    del blocks[::2]
    before = rss()
    assert allocator.free_bytes() >= 32 * 2**20 - 2**20
    assert trimmer.check() is True
    assert trimmer.trims == 1
    assert before - rss() >= 16 * 2**20            # most of the 32 MiB went back
    assert trimmer.check() is False                # and only once
    del blocks


def test_trimmer_thread_stops():
    trimmer = allocator.Trimmer(threshold=2**40, interval=0.01)
    trimmer.start()
    thread = trimmer._thread
    assert thread is not None and thread.is_alive()
    trimmer.stop()
    thread.join(5)
    assert not thread.is_alive()


REEXEC = (
    "import os, sys\n"
    "print('start', os.environ.get('PYTHONMALLOC'), os.getpid(), flush=True)\n"
    "from congress.cmd import allocator, launch\n"
    "launch.reexec_on_system_malloc()\n"
    "print('running', allocator.python_allocator(), os.getpid(), sys.argv[1:], flush=True)\n"
    "print('tunables', os.environ.get('GLIBC_TUNABLES'), flush=True)\n")


def _run_reexec(env_value: str | None, tunables: str | None = None) -> list[list[str]]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONMALLOC", "GLIBC_TUNABLES")}
    if env_value is not None:
        env["PYTHONMALLOC"] = env_value
    if tunables is not None:
        env["GLIBC_TUNABLES"] = tunables
    out = subprocess.run([sys.executable, "-c", REEXEC, "--node-id", "x"], env=env,
                         capture_output=True, text=True, check=True).stdout
    return [line.split(" ", 3) for line in out.splitlines()]


def test_reexec_runs_the_same_command_again_on_malloc():
    lines = _run_reexec(None)
    assert [line[:2] for line in lines] == [["start", "None"], ["start", "malloc"],
                                            ["running", "malloc"],
                                            ["tunables", "glibc.malloc.tcache_max=128"]]
    assert lines[0][2] == lines[1][2] == lines[2][2]       # exec: the same process
    assert lines[2][3] == "['--node-id', 'x']"             # the same arguments


def test_reexec_leaves_an_allocator_named_by_the_environment():
    lines = _run_reexec("pymalloc")
    assert [line[:2] for line in lines] == [["start", "pymalloc"], ["running", "pymalloc"],
                                            ["tunables", "None"]]


@pytest.mark.parametrize("given, expected", [
    ("", "glibc.malloc.tcache_max=128"),
    ("glibc.malloc.check=0", "glibc.malloc.check=0:glibc.malloc.tcache_max=128"),
    ("glibc.malloc.tcache_count=4", "glibc.malloc.tcache_count=4"),
    ("glibc.malloc.tcache_max=64", "glibc.malloc.tcache_max=64"),
])
def test_reexec_adds_the_tcache_limit_to_other_tunables(given, expected):
    assert launch.with_tcache_tunable(given) == expected
    assert _run_reexec(None, given)[-1] == ["tunables", expected]


TCACHE = """
import ctypes, os
from congress.cmd import allocator, launch
launch.reexec_on_system_malloc()
libc = allocator._LIBC
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]

def freed_blocks():
    blocks = [libc.malloc(1000) for _ in range(20)]     # a size Python itself hardly asks for
    in_use = libc.mallinfo2().uordblks
    for b in blocks:
        libc.free(b)
    return round((in_use - libc.mallinfo2().uordblks) / 1008)

libc.free(libc.malloc(5000))    # ctypes' first calls leave objects behind: not in the count
print(allocator.tcache_max(), max(freed_blocks() for _ in range(5)))
"""


@pytest.mark.parametrize("tunables, limit, freed", [(None, "128", range(19, 21)),
                                                  ("", "1032", range(12, 14))])
def test_the_per_thread_cache_keeps_no_big_freed_blocks(tunables, limit, freed):
    """Blocks in a thread's cache still count as in use (malloc cannot return them): of 20
    freed 1000-byte blocks, all are really freed with the server's tunable, 13 with glibc's
    default (seven blocks of each size up to 1032 bytes; one fewer freed if the interpreter
    took a block of the size meanwhile)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONMALLOC", "GLIBC_TUNABLES")}
    if tunables is not None:        # PYTHONMALLOC given: no re-execution, tunables as they are
        env.update(PYTHONMALLOC="malloc", GLIBC_TUNABLES=tunables)
    out = subprocess.run([sys.executable, "-c", TCACHE], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out[0] == limit and int(out[1]) in freed, out


FASTBINS = """
import ctypes, sys
from congress.cmd import allocator
if sys.argv[1] == "off":
    assert allocator.disable_fastbins()
blocks = [ctypes.create_string_buffer(40) for _ in range(20000)]
keep = blocks[::2]
del blocks                      # every other small block freed, none next to another
print(allocator._LIBC.mallinfo2().fsmblks)
"""


@pytest.mark.parametrize("mode", ["on", "off"])
def test_fast_bins_off_keep_no_small_blocks_aside(mode):
    """With fast bins (glibc's default) freed small blocks wait in them, to be merged in one
    go later; off, none do."""
    env = {**os.environ, "PYTHONMALLOC": "malloc", "GLIBC_TUNABLES": ""}
    out = subprocess.run([sys.executable, "-c", FASTBINS, mode], capture_output=True,
                         text=True, env=env, check=True).stdout
    in_fast_bins = int(out)
    if mode == "off":
        assert in_fast_bins == 0
    else:
        assert in_fast_bins > 0


def test_trimmer_waits_while_bulk_work_is_in_progress():
    from congress import gcpause
    allocator.trim()
    trimmer = allocator.Trimmer(threshold=16 * 2**20, interval=3600)
    blocks = [bytearray(b"x" * 65536) for _ in range(1024)]
    assert trimmer.check() is False
    del blocks[::2]
    with gcpause.paused(freeze=False):
        assert trimmer.check() is False         # a push or engine batch is in progress
    assert trimmer.check() is True              # after it
    del blocks


def test_trimmer_thread_checks_soon_after_bulk_work():
    from congress import gcpause
    allocator.trim()
    trimmer = allocator.Trimmer(threshold=16 * 2**20, interval=3600)
    blocks = [bytearray(b"x" * 65536) for _ in range(1024)]
    assert trimmer.check() is False
    with gcpause.paused(freeze=False):
        del blocks[::2]
        assert trimmer.check() is False and trimmer.deferred
        trimmer.start()     # its next check: AFTER_WORK seconds, not an hour, from now
        time.sleep(3 * allocator.AFTER_WORK)
        assert trimmer.trims == 0
    deadline = time.monotonic() + 5
    while trimmer.trims == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    trimmer.stop()
    assert trimmer.trims == 1
    del blocks


def test_the_first_interpreter_imports_nothing_before_it_executes_itself_again():
    """congress-server's entry point decides on the re-exec with os and sys only (no ctypes,
    no logging): everything the first interpreter imports is thrown away by the exec."""
    code = ("import sys\nbefore = set(sys.modules)\nimport congress.cmd.launch\n"
            "print(' '.join(sorted(set(sys.modules) - before)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert set(out) <= {"__future__", "congress", "congress.cmd", "congress.cmd.launch"}, out
    assert "congress.cmd.launch" in out
