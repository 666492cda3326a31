"""congress.cmd.allocator: the arena limit, the trimmer and the re-exec on glibc's malloc give
freed memory back."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from congress.cmd import allocator

pytestmark = pytest.mark.skipif(not allocator.available(), reason="needs glibc's malloc")


rss = allocator.resident_bytes


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
    # the base follow the free bytes down, as the background thread's checks would (with
    # enough left free by earlier tests, the resident set they grew trims once)
    trimmer.check()
    trims = trimmer.trims
    del blocks[::2]
    before = rss()
    assert allocator.free_bytes() >= 32 * 2**20 - 2**20
    assert trimmer.check() is True
    assert trimmer.trims == trims + 1
    assert before - rss() >= 16 * 2**20            # most of the 32 MiB went back
    assert trimmer.check() is False                # and only once
    del blocks


def test_trimmer_calls_its_hooks_before_it_trims_and_only_then():
    allocator.trim()
    trimmer = allocator.Trimmer(threshold=16 * 2**20, interval=3600)
    calls: list[int] = []

    def failing_hook() -> None:
        raise RuntimeError("a hook that fails does not stop the trim")

    trimmer.before_trim += [lambda: calls.append(trimmer.trims), failing_hook]
    assert trimmer.check() is False
    assert calls == []                             # nothing to trim: no hook either
    blocks = [bytearray(b"x" * 65536) for _ in range(1024)]
    trimmer.check()                                # (see the test above)
    del calls[:]
    trims = trimmer.trims
    del blocks[::2]
    assert trimmer.check() is True
    assert calls == [trims]                        # called once, before the trim counted
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
    "print('running', allocator.python_allocator(), os.getpid(), sys.argv[1:], flush=True)\n")


def _run_reexec(env_value: str | None) -> list[list[str]]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONMALLOC"}
    if env_value is not None:
        env["PYTHONMALLOC"] = env_value
    out = subprocess.run([sys.executable, "-c", REEXEC, "--node-id", "x"], env=env,
                         capture_output=True, text=True, check=True).stdout
    return [line.split(" ", 3) for line in out.splitlines()]


def test_reexec_runs_the_same_command_again_on_malloc():
    lines = _run_reexec(None)
    assert [line[:2] for line in lines] == [["start", "None"], ["start", "malloc"],
                                            ["running", "malloc"]]
    assert lines[0][2] == lines[1][2] == lines[2][2]       # exec: the same process
    assert lines[2][3] == "['--node-id', 'x']"             # the same arguments


def test_reexec_leaves_an_allocator_named_by_the_environment():
    lines = _run_reexec("pymalloc")
    assert [line[:2] for line in lines] == [["start", "pymalloc"], ["running", "pymalloc"]]


@pytest.mark.parametrize("tunables, limit", [
    (None, "1032"), ("glibc.malloc.tcache_max=128", "128"),
    ("glibc.malloc.check=0:glibc.malloc.tcache_max=64", "64")])
def test_tcache_max_reads_the_tunables(monkeypatch, tunables, limit):
    if tunables is None:
        monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    else:
        monkeypatch.setenv("GLIBC_TUNABLES", tunables)
    assert allocator.tcache_max() == limit


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
    trimmer.check()                             # (see test_trimmer_returns_freed_holes...)
    del blocks[::2]
    with gcpause.paused(freeze=False):
        assert trimmer.check() is False         # a push or engine batch is in progress
    assert trimmer.check() is True              # after it
    del blocks


def test_trimmer_trims_what_bulk_work_reused_and_freed_while_it_waited():
    """Work that takes free space, gives it back and ends between two checks leaves the free
    bytes where they were, and the reused pages resident: the resident set tells."""
    from congress import gcpause
    keep = [bytearray(b"x" * 65536) for _ in range(1024)]
    sentinel = bytearray(b"x" * 65536)         # holds the heap's top above the holes
    del keep
    allocator.trim()                           # 64 MiB of holes, free and not resident
    trimmer = allocator.Trimmer(threshold=16 * 2**20, interval=3600)
    with gcpause.paused(freeze=False):
        blocks = [bytearray(b"x" * 65536) for _ in range(1024)]   # in the holes, resident
        del blocks[::2]
        assert trimmer.check() is False and trimmer.deferred
    before = rss()
    assert trimmer.check() is True             # the free bytes alone: 32 MiB fewer than at start
    assert before - rss() >= 16 * 2**20
    assert trimmer.check() is False            # once
    del blocks, sentinel


def test_trimmer_trims_what_work_reused_and_freed_between_two_checks():
    """No bulk work held the checks off: a push absorbed and its datasource deleted within a
    second of each other leave the free bytes where the last check saw them (a trim counts
    what it gave back as free too) and the reused pages resident."""
    keep = [bytearray(b"x" * 65536) for _ in range(1024)]
    sentinel = bytearray(b"x" * 65536)         # holds the heap's top above the holes
    del keep
    allocator.trim()                           # 64 MiB of holes, free and not resident
    trimmer = allocator.Trimmer(threshold=16 * 2**20, interval=3600)
    assert trimmer.check() is False            # free, but no more than at start
    blocks = [bytearray(b"x" * 65536) for _ in range(1024)]   # in the holes, resident
    del blocks
    before = rss()
    assert trimmer.check() is True
    assert before - rss() >= 16 * 2**20
    assert trimmer.check() is False            # once
    del sentinel


def test_trimmer_counts_the_resident_set_only_with_enough_free(monkeypatch):
    """Live data that grows the process, with little free, does not trim at every check."""
    mib = 2**20
    figures = {"free": 1 * mib, "rss": 100 * mib}
    monkeypatch.setattr(allocator, "free_bytes", lambda: figures["free"])
    monkeypatch.setattr(allocator, "resident_bytes", lambda: figures["rss"])
    monkeypatch.setattr(allocator, "trim", lambda: True)
    trimmer = allocator.Trimmer(threshold=16 * mib, interval=3600)
    figures["rss"] = 200 * mib                 # a big table loaded: resident, nothing free
    assert trimmer.check() is False
    figures["free"] = 15 * mib                 # less than the threshold free
    assert trimmer.check() is False
    figures["free"] = 16 * mib
    assert trimmer.check() is True
    assert trimmer.check() is False            # the bases follow the trim
    assert trimmer.trims == 1


def test_trimmer_thread_checks_soon_after_bulk_work():
    from congress import gcpause
    allocator.trim()
    trimmer = allocator.Trimmer(threshold=16 * 2**20, interval=3600)
    blocks = [bytearray(b"x" * 65536) for _ in range(1024)]
    trimmer.check()         # (see test_trimmer_returns_freed_holes_of_the_heap)
    trims = trimmer.trims
    with gcpause.paused(freeze=False):
        del blocks[::2]
        assert trimmer.check() is False and trimmer.deferred
        trimmer.start()     # its next check: AFTER_WORK seconds, not an hour, from now
        time.sleep(3 * allocator.AFTER_WORK)
        assert trimmer.trims == trims
    deadline = time.monotonic() + 5
    while trimmer.trims == trims and time.monotonic() < deadline:
        time.sleep(0.05)
    trimmer.stop()
    assert trimmer.trims == trims + 1
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
