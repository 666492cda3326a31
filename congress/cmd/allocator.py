"""Giving freed memory back to the system (glibc's malloc; elsewhere these do nothing).

Big datasource tables are many Python objects plus large buffers (set and dict tables, row
lists, request bodies); the large ones come from glibc's malloc. Freed, they stay in malloc's
heaps: a server that loaded and then deleted a 100k-row table kept 150-250 MiB more than at
start, growing by 50-70 MiB per further load/delete cycle (benchmarks/RESULTS.md, "Memory after
create / PUT / delete cycles"), with no Python object retained. Three things bring it back:

* :func:`limit_arenas`: glibc gives every thread that allocates while another holds the lock its
  own heap ("arena", up to 8 per core); the API's worker threads each fill one and the freed
  holes of one arena are never reused by another. With the GIL only one thread allocates at a
  time anyway, so one or two arenas cost little. It must run before the threads first allocate
  (threads keep the arena they were given), which is why ``congress-server`` calls it before it
  starts anything; ``MALLOC_ARENA_MAX`` in the environment would do the same, but only if every
  way of starting the server set it.
* :class:`Trimmer`: ``malloc_trim(0)`` returns the free pages inside the heaps (not only at
  their top) to the system. A background thread calls it once the bytes malloc holds free have
  grown by ``threshold`` since the last trim (``mallinfo2``: a walk of malloc's free lists, no
  system call), or the resident set has while as much lies free, so it runs after a
  datasource or policy is deleted or a big push has been absorbed and its request body freed,
  whatever node or thread freed it, and not on any request's path (nor while a push or an
  engine batch is in progress). ctypes releases the GIL during both calls.
* :func:`congress.cmd.launch.reexec_on_system_malloc`: CPython's own small-object allocator
  (pymalloc) takes memory in 1 MiB arenas and gives an arena back only once every object in it
  is gone. A load of 100k rows spreads its temporary objects over a hundred arenas; the few
  objects that outlive it (a log record, a cached plan, a thread's frame) keep most of them,
  wholly empty pools included, for good: after one create / PUT 100k / delete cycle 113 arenas
  held 36 MB of live objects and 78 MB of free pools. On glibc's malloc the same objects leave
  free pages, which the trimmer returns. The interpreter reads its allocator from
  ``PYTHONMALLOC`` only when it starts, so ``congress-server`` sets it and executes itself
  again, before importing anything else, unless the environment already names one
  (``PYTHONMALLOC=pymalloc`` keeps CPython's).
* The per-thread caches: glibc keeps up to seven freed blocks of each size up to 1032 bytes
  per thread, for that thread's next allocations. They count as in use, the trimmer cannot
  return them or the pages they pin, and only a thread's end empties its cache into the heap.
  The API's 16 worker threads, whichever served a big push or the delete of a big table, kept
  such blocks from all over the freed heap: the server grew by 6-7 MiB over 20 create / PUT
  100k / delete cycles. So a worker that served a long request hands over to a fresh thread,
  and before it trims the trimmer has every API worker do so (``before_trim``;
  :class:`congress.api.server.RecyclingDispatcher`): +2 MiB over the 20 cycles, +3 over
  60, none after the 31st. Limiting the caches themselves
  (``GLIBC_TUNABLES=glibc.malloc.tcache_max=128``, read when a program starts) would cover
  the other threads too, but made full 300k-row pushes up to ~10 % slower (one block per
  size, ``tcache_count=1``: a one-row change to a 300k-row table 20-25 % slower); it is the
  operator's opt-in. The start-up log line says the limit in use.

Not about memory given back but about malloc's speed with Python objects on it,
:func:`disable_fastbins` turns off the fast bins, whose all-at-once merging slowed big JSON
encodes several times over.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from congress import gcpause

LOG = logging.getLogger(__name__)

M_ARENA_MAX = -8  # mallopt parameter numbers, <malloc.h>
M_MXFAST = 1


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _load_libc() -> Any:
    """glibc with the three functions used here, or None (musl, macOS ...)."""
    try:
        try:  # glibc's soname on every architecture Debian builds; find_library runs ldconfig
            libc = ctypes.CDLL("libc.so.6")
        except OSError:
            libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.gnu_get_libc_version  # noqa: B018 (glibc only)
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.mallinfo2.restype = _Mallinfo2  # glibc >= 2.33 (Debian 12: 2.36)
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _load_libc()


def python_allocator() -> str:
    """The allocator of this interpreter's objects, as PYTHONMALLOC names it."""
    return os.environ.get("PYTHONMALLOC") or "pymalloc"


def tcache_max() -> str:
    """The largest block (bytes) the per-thread caches keep, as ``GLIBC_TUNABLES`` sets it, or
    glibc's default (1032)."""
    for item in os.environ.get("GLIBC_TUNABLES", "").split(":"):
        name, _, value = item.partition("=")
        if name == "glibc.malloc.tcache_max":
            return value
    return "1032"


def available() -> bool:
    return _LIBC is not None


def limit_arenas(n: int) -> bool:
    """At most ``n`` malloc arenas for this process (0: glibc's default). True if applied."""
    if _LIBC is None or n <= 0:
        return False
    return bool(_LIBC.mallopt(M_ARENA_MAX, n))


def disable_fastbins() -> bool:
    """No "fast bins" in malloc (``M_MXFAST`` 0): small freed blocks are merged with their
    neighbours at once instead of being kept aside. With Python objects on malloc, a big JSON
    encode or decode frees and allocates hundreds of thousands of small strings and then asks
    for a large block, and malloc merged the whole pile then (``malloc_consolidate``): encoding
    the rows of a 100k-row table took 0.46-0.50 s instead of 0.12-0.14 s in the server, and a
    300k-row ``json.dumps`` 5x as long as on pymalloc. True if applied."""
    if _LIBC is None:
        return False
    return bool(_LIBC.mallopt(M_MXFAST, 0))


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int:
    """This process's resident set (bytes; ``/proc/self/statm``), 0 where there is no /proc:
    a read, no walk of malloc's lists."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def free_bytes() -> int:
    """Bytes malloc holds free in its heaps (released to the system or not); 0 without glibc."""
    if _LIBC is None:
        return 0
    return int(_LIBC.mallinfo2().fordblks)


def trim() -> bool:
    """Give the free pages of malloc's heaps back to the system; True if any were."""
    if _LIBC is None:
        return False
    return bool(_LIBC.malloc_trim(0))


#: seconds between the trimmer's checks while bulk work is in progress
AFTER_WORK = 0.1


class Trimmer:
    """A daemon thread that calls :func:`trim` when ``threshold`` more bytes lie free in
    malloc's heaps than after the previous trim (or than the least seen since), checking
    every ``interval`` seconds.

    The free bytes alone miss work that allocates and frees entirely between two checks (a
    push absorbed and its datasource deleted within a second, or while bulk work held the
    checks off): the free bytes are back where the last check saw them (they count the pages a
    trim gave back as free too), but the pages the work reused stay resident (cycles of
    ``bench_push.py --cycles`` ended 70-105 MiB up). So the resident set counts too:
    ``threshold`` more resident bytes than the least seen since the last trim trims as well,
    when at least ``threshold`` bytes lie free (live data that grows the process, with little
    free, does not trim at every check).

    ``before_trim``: functions called first (in this thread), to free more before the trim:
    the API's worker threads retire and the bus's dispatcher thread makes way for a fresh one,
    which empties their malloc caches into the heap."""

    def __init__(self, threshold: int, interval: float = 1.0) -> None:
        self.threshold = threshold
        self.interval = interval
        self.trims = 0
        #: the last check waited for bulk work in progress
        self.deferred = False
        self.before_trim: list[Callable[[], Any]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._base = free_bytes()
        self._rss_base = resident_bytes()

    def start(self) -> None:
        if _LIBC is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="malloc-trim", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def check(self) -> bool:
        """Trim if enough became free, or resident with enough free, since the last trim;
        True if it trimmed.

        Not while bulk work is in progress (a push being decoded or stored, an engine batch:
        :func:`congress.gcpause.pauses`): both calls walk malloc's free lists holding its
        lock, 10-150 ms with a big table's holes, and a thread that allocates meanwhile waits
        for it holding the GIL, so every request waits too. The next check after the work
        trims what it freed: the thread checks every :data:`AFTER_WORK` seconds until then."""
        self.deferred = bool(gcpause.pauses())
        if self.deferred:
            return False
        free, rss = free_bytes(), resident_bytes()
        # what was free and then reused does not count: the bases follow the figures down
        self._base = min(self._base, free)
        self._rss_base = min(self._rss_base, rss)
        if free - self._base < self.threshold and (
                rss - self._rss_base < self.threshold or free < self.threshold):
            return False
        for hook in self.before_trim:
            try:
                hook()
            except Exception:  # noqa: BLE001 (the trim goes on)
                LOG.exception("before-trim hook %r failed", hook)
        t0 = time.perf_counter()   # the trim alone (a hook may wait for threads to end)
        trim()
        self.trims += 1
        self._base, self._rss_base = free_bytes(), resident_bytes()
        LOG.debug("malloc_trim: %.0f MiB free in malloc's heaps, trimmed in %.1f ms",
                  free / 2**20, (time.perf_counter() - t0) * 1000)
        return True

    def _run(self) -> None:
        while not self._stop.wait(AFTER_WORK if self.deferred else self.interval):
            try:
                self.check()
            except Exception:  # never let the trimmer take anything down
                LOG.exception("malloc_trim check failed")
                return
