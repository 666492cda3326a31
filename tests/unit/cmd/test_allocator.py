"""congress.cmd.allocator: the arena limit and the trimmer give freed memory back (glibc)."""

from __future__ import annotations

import os

import pytest

from congress.cmd import allocator

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
