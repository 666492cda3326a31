"""Push benchmark (issue 15): big ``PUT .../rows`` on a push datasource, measured through the
REST API of a real all-in-one ``congress-server`` (SQLite by default, MariaDB with ``--mysql``),
each figure also given as a multiple of the *floor* measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_push.py [--sizes 10000,100000,300000] [--runs 3]
[--mysql] [--no-persist] [--profile DIR] [--cycles K] [--set KEY=VALUE ...]``

Workload: a ``doctor`` datasource (``persist_data`` on unless ``--no-persist``) and a policy
``perf`` with a join and a negation over its ``events`` table::

    down_by(h, m) :- doctor:events(hostname=h, status="down", monitor=m)
    recovered(h)  :- doctor:events(hostname=h, status="up")
    alert(h)      :- down_by(h, m), watched(m), not recovered(h)
    watched("zabbix1")  watched("zabbix2")  watched("zabbix3")

N events come from a seeded generator (N/4 hosts, five monitors, one in five events "up").
For each N and each run a fresh server is started, then:

* ``full``: one PUT of the N events; the time until ``alert`` holds exactly the expected rows
  (computed here in Python): the PUT's own answer time (it answers once the node's engine
  reflects the write: the ``X-Congress-Data-Revision`` contract) and the time until a read of
  ``alert`` matched (the first poll after the answer, including that read);
* ``one_changed``: a PUT of the same N events with one row changed (one alerting host's "down"
  event becomes "up", so ``alert`` loses that host), measured the same way;
* while each PUT runs, a second client, in a process of its own, reads a 1-row policy table in
  a loop: the latency of those reads (p50 / p99 / max) says whether the API stays responsive;
* the time the server spent in garbage collections during each PUT (its
  ``congress_gc_pause_seconds`` metric);
* the server's peak RSS (``VmHWM``) and current RSS from ``/proc``.

``--cycles K``: on one server, K cycles of create datasource + policy, PUT N events (the first
of ``--sizes``), delete both; the server's RSS after start and after each cycle, each taken once
it has stopped changing (within 1 MiB for 2 s).

The floor, measured in this process on the same body: ``json.loads`` of the body, flattening
the events into row tuples, building a set of them. The decode alone is also printed, since a
one-row-changed PUT cannot cost less than decoding its body.

``--set KEY=VALUE`` puts a ``[DEFAULT]`` option into the server's config file (e.g.
``--set api_threads=2``).

``--profile DIR`` samples the server with py-spy during each PUT (``DIR/<N>-<phase>.txt``), if
py-spy is installed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from benchmarks.bench_api import pct  # noqa: E402
from tests.functional.harness import CongressProcess  # noqa: E402

MONITORS = [f"zabbix{i}" for i in range(5)]
WATCHED = MONITORS[1:4]
RULES = [
    'down_by(h, m) :- doctor:events(hostname=h, status="down", monitor=m)',
    'recovered(h) :- doctor:events(hostname=h, status="up")',
    "alert(h) :- down_by(h, m), watched(m), not recovered(h)",
] + [f'watched("{m}")' for m in WATCHED] + ['one("x")']


# --------------------------------------------------------------------------- data
def make_events(n: int, seed: int = 15) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    hosts = max(1, n // 4)
    t0 = 1_796_000_000
    out = []
    for i in range(n):
        out.append({
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + i)),
            "type": "compute.host.down",
            "details": {"hostname": f"compute-{rnd.randrange(hosts)}",
                        "status": "up" if rnd.random() < 0.2 else "down",
                        "monitor": rnd.choice(MONITORS),
                        "monitor_event_id": str(i)}})
    return out


def expected_alerts(events: list[dict[str, Any]]) -> set[str]:
    down = set()
    up = set()
    for e in events:
        d = e["details"]
        if d["status"] == "up":
            up.add(d["hostname"])
        elif d["status"] == "down" and d["monitor"] in WATCHED:
            down.add(d["hostname"])
    return down - up


def one_changed(events: list[dict[str, Any]], alerts: set[str]) -> list[dict[str, Any]]:
    """The same events but one: an alerting host's first watched "down" event becomes "up"."""
    target = min(alerts)
    out = list(events)
    for i, e in enumerate(events):
        d = e["details"]
        if d["hostname"] == target and d["status"] == "down":
            out[i] = {**e, "details": {**d, "status": "up"}}
            return out
    raise AssertionError("no event to change")


def floor(body: bytes, repeat: int = 3) -> dict[str, float]:
    """What any implementation pays for this body: decode, flatten to rows, index them (each
    step's best of ``repeat`` tries: the machine is shared, the floor is what it allows)."""
    tries = [_floor_once(body) for _ in range(repeat)]
    best = {k: min(t[k] for t in tries) for k in ("decode", "flatten", "index")}
    best["total"] = sum(best.values())
    return best


def flatten(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The events as the doctor driver's rows (one tuple per event)."""
    rows = []
    for e in events:
        d = e.get("details") or {}
        rows.append((e.get("time"), e.get("type"), d.get("hostname"), d.get("status"),
                     d.get("monitor"), d.get("monitor_event_id")))
    return rows


def _floor_once(body: bytes) -> dict[str, float]:
    t0 = time.perf_counter()
    events = json.loads(body)
    t1 = time.perf_counter()
    rows = flatten(events)
    t2 = time.perf_counter()
    index = set(rows)
    t3 = time.perf_counter()
    assert len(index) == len(events)
    return {"decode": t1 - t0, "flatten": t2 - t1, "index": t3 - t2}


# --------------------------------------------------------------------------- HTTP
class Client:
    """One keep-alive connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def request(self, method: str, path: str, body: Any = None,
                raw: bytes | None = None) -> tuple[int, bytes, dict[str, str]]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        headers = {"Content-Type": "application/json"} if data is not None else {}
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        return resp.status, resp.read(), dict(resp.getheaders())

    def json(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        status, raw, _ = self.request(method, path, body)
        if status != expect:
            raise RuntimeError(f"{method} {path} -> {status}: {raw[:500]!r}")
        return json.loads(raw) if raw.strip() else None

    def close(self) -> None:
        self.conn.close()


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in MiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) // 1024
    return out


def settled_rss(pid: int, quiet: float = 2.0, limit: float = 15.0) -> tuple[int, float]:
    """The RSS (MiB) once it has stayed within 1 MiB for ``quiet`` seconds (work the server
    finishes after answering: the deleted tables freed, the allocator's trimmer run), and how
    long that took; at most ``limit`` seconds."""
    t0 = time.monotonic()
    rss = proc_status(pid)["VmRSS"]
    since = t0
    while time.monotonic() - t0 < limit:
        time.sleep(0.25)
        now = proc_status(pid)["VmRSS"]
        if abs(now - rss) > 1:
            rss, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return rss, time.monotonic() - t0


def _read_loop(port: int, path: str, halt: Any, ready: Any, out: Any) -> None:
    client = Client(port)
    latencies: list[float] = []
    errors = 0
    while not halt.is_set():
        t0 = time.perf_counter()
        status, _, _ = client.request("GET", path)
        latencies.append(time.perf_counter() - t0)
        if status != 200:
            errors += 1
        ready.set()
        time.sleep(0.005)
    client.close()
    out.send((latencies, errors))


class Reader:
    """Reads a 1-row table in a loop until halted, in a process of its own, and keeps the
    latencies. (A thread of this process measured this process too: while the main thread
    decoded a big response, the reader's requests waited for the interpreter, up to 120 ms
    that the server's own log did not show.)"""

    def __init__(self, port: int, path: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.halt = ctx.Event()
        self._ready = ctx.Event()
        self._results, out = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_read_loop, daemon=True,
                                 args=(port, path, self.halt, self._ready, out))
        self.latencies: list[float] = []
        self.errors = 0

    def start(self) -> None:
        """Returns once the first read has been answered."""
        self._proc.start()
        deadline = time.monotonic() + 60
        while not self._ready.wait(0.05):
            if not self._proc.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the reader process did not read (exit code "
                                   f"{self._proc.exitcode})")

    def join(self) -> None:
        self.latencies, self.errors = self._results.recv()
        self._proc.join()


class Profiler:
    def __init__(self, outdir: str | None, pid: int) -> None:
        self.exe = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable),
                                                          "py-spy")
        self.outdir = outdir if outdir and os.path.exists(self.exe) else None
        self.pid = pid
        self.proc: subprocess.Popen | None = None
        if outdir and not self.outdir:
            print("py-spy not found: no profiles", flush=True)

    def start(self, phase: str) -> None:
        if not self.outdir:
            return
        os.makedirs(self.outdir, exist_ok=True)
        self.proc = subprocess.Popen(
            [self.exe, "record", "--pid", str(self.pid), "--format", "raw", "--rate", "200",
             "--gil",
             "-o", os.path.join(self.outdir, f"{phase}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(2)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.proc = None


# --------------------------------------------------------------------------- one run
def gc_pauses(c: Client) -> tuple[float, int]:
    """Seconds the server's garbage collections took so far, and how many there were."""
    status, raw, _ = c.request("GET", "/metrics")
    seconds, count = 0.0, 0
    for line in raw.decode().splitlines():
        if line.startswith("congress_gc_pause_seconds_sum"):
            seconds += float(line.rsplit(" ", 1)[1])
        elif line.startswith("congress_gc_pause_seconds_count"):
            count += int(float(line.rsplit(" ", 1)[1]))
    return seconds, count


def timed_put(c: Client, port: int, body: bytes, expected: set[str]) -> dict[str, Any]:
    gc0 = gc_pauses(c)
    alert_path = "/v1/policies/perf/tables/alert/rows"
    reader = Reader(port, "/v1/policies/perf/tables/one/rows")
    reader.start()
    time.sleep(0.05)
    t0 = time.perf_counter()
    status, raw, headers = c.request("PUT", "/v1/data-sources/doctor/tables/events/rows",
                                     raw=body)
    t_ack = time.perf_counter() - t0
    if status != 200:
        raise RuntimeError(f"PUT -> {status}: {raw[:300]!r}")
    polls = 0
    while True:
        polls += 1
        got = {r["data"][0] for r in c.json("GET", alert_path)["results"]}
        if got == expected:
            break
        if time.perf_counter() - t0 > 900:
            raise RuntimeError("the derived table never matched")
        time.sleep(0.01)
    t_visible = time.perf_counter() - t0
    reader.halt.set()
    reader.join()
    lat = reader.latencies
    gc1 = gc_pauses(c)
    return {"ack": t_ack, "visible": t_visible, "polls": polls,
            "gc_seconds": gc1[0] - gc0[0], "gc_count": gc1[1] - gc0[1],
            "revision": headers.get("X-Congress-Data-Revision"),
            "read_n": len(lat), "read_p50": pct(lat, 50), "read_p99": pct(lat, 99),
            "read_max": max(lat), "read_errors": reader.errors}


def one_run(n: int, args: argparse.Namespace, events: list[dict[str, Any]],
            changed: list[dict[str, Any]], expected: set[str],
            expected_changed: set[str]) -> dict[str, Any]:
    workdir = tempfile.mkdtemp(prefix="congress-bench-push-")
    db_name = None
    db_url = None
    if args.mysql:
        from tests.functional.harness import create_database
        db_name, db_url = create_database("congress_bench")
    server = CongressProcess(workdir, node_id="benchpush", db_url=db_url,
                             extra=server_options(args))
    body = json.dumps(events).encode()
    body_changed = json.dumps(changed).encode()
    out: dict[str, Any] = {"bytes": len(body)}
    try:
        t_spawn = time.perf_counter()
        server.start(timeout=120)
        out["ready"] = time.perf_counter() - t_spawn
        assert server.proc is not None
        pid = server.proc.pid
        prof = Profiler(args.profile, pid)
        c = Client(server.port)
        c.json("POST", "/v1/data-sources", {
            "name": "doctor", "driver": "doctor",
            "config": {"persist_data": "false" if args.no_persist else "true"}}, expect=201)
        c.json("POST", "/v1/policies", {"name": "perf"}, expect=201)
        for rule in RULES:
            c.json("POST", "/v1/policies/perf/rules", {"rule": rule}, expect=201)
        out["rss_start"] = proc_status(pid)["VmRSS"]
        out["floor"] = floor(body)
        prof.start(f"{n}-full")
        out["full"] = timed_put(c, server.port, body, expected)
        prof.stop()
        prof.start(f"{n}-one_changed")
        out["one_changed"] = timed_put(c, server.port, body_changed, expected_changed)
        prof.stop()
        st = proc_status(pid)
        out["rss_end"], out["rss_peak"] = st["VmRSS"], st["VmHWM"]
        c.close()
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        if db_name:
            from tests.functional.harness import drop_database
            drop_database(db_name)
    return out


def server_options(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The server's config: no datasource sync loop, plus ``--set`` options ([DEFAULT])."""
    options: dict[str, Any] = {"datasource_sync_period": 0}
    for item in args.set:
        key, _, value = item.partition("=")
        options[key.strip()] = value.strip()
    return {"DEFAULT": options}


def cycles(n: int, k: int, args: argparse.Namespace) -> None:
    """``k`` cycles of: create the datasource and the policy, PUT ``n`` events until derived,
    delete both; the server's RSS after each (does memory come back?)."""
    events = make_events(n)
    expected = expected_alerts(events)
    body = json.dumps(events).encode()
    workdir = tempfile.mkdtemp(prefix="congress-bench-push-")
    server = CongressProcess(workdir, node_id="benchpush", extra=server_options(args))
    try:
        server.start(timeout=120)
        assert server.proc is not None
        pid = server.proc.pid
        c = Client(server.port)
        start, _ = settled_rss(pid)
        after = []
        for _ in range(k):
            c.json("POST", "/v1/data-sources", {
                "name": "doctor", "driver": "doctor",
                "config": {"persist_data": "false" if args.no_persist else "true"}},
                expect=201)
            c.json("POST", "/v1/policies", {"name": "perf"}, expect=201)
            for rule in RULES:
                c.json("POST", "/v1/policies/perf/rules", {"rule": rule}, expect=201)
            timed_put(c, server.port, body, expected)
            c.json("DELETE", "/v1/policies/perf")
            c.json("DELETE", "/v1/data-sources/doctor")
            rss, waited = settled_rss(pid)
            after.append(rss)
            print(f"  cycle {len(after)}: RSS {rss} MiB (settled in {waited:.1f} s)", flush=True)
        print(f"cycles of create + PUT {n} + delete: RSS {start} MiB after start, after each "
              f"cycle: {', '.join(map(str, after))} MiB; peak "
              f"{proc_status(pid)['VmHWM']} MiB", flush=True)
        c.close()
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,300000",
                    help="comma-separated event counts (default 10000,100000,300000)")
    ap.add_argument("--runs", type=int, default=3, help="fresh-server runs per size")
    ap.add_argument("--mysql", action="store_true",
                    help="MariaDB (the test user of `dev.sh setup-db`) instead of SQLite")
    ap.add_argument("--no-persist", action="store_true", help="persist_data off")
    ap.add_argument("--profile", metavar="DIR", help="py-spy the server during each PUT")
    ap.add_argument("--cycles", type=int, metavar="K",
                    help="instead: K cycles of create + PUT (the first size) + delete on one "
                         "server, its RSS after each")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a [DEFAULT] option of the server's config file (repeatable), "
                         "e.g. --set api_threads=4")
    args = ap.parse_args()
    if args.cycles:
        cycles(int(args.sizes.split(",")[0]), args.cycles, args)
        return 0

    print(f"push benchmark: doctor datasource, persist_data "
          f"{'off' if args.no_persist else 'on'}, {'MariaDB' if args.mysql else 'SQLite'}; "
          f"{args.runs} run(s) per size, a fresh all-in-one server each", flush=True)
    summary = []
    for n in [int(x) for x in args.sizes.split(",")]:
        events = make_events(n)
        expected = expected_alerts(events)
        changed = one_changed(events, expected)
        expected_changed = expected_alerts(changed)
        assert len(expected_changed) == len(expected) - 1
        for run in range(args.runs):
            r = one_run(n, args, events, changed, expected, expected_changed)
            fl, full, one = r["floor"], r["full"], r["one_changed"]
            line = (f"N={n} run {run + 1}: body {r['bytes'] / 1e6:.1f} MB, alert rows "
                    f"{len(expected)}; floor {fl['total']:.3f} s (decode {fl['decode']:.3f}, "
                    f"flatten {fl['flatten']:.3f}, index {fl['index']:.3f})\n"
                    f"  full PUT: ack {full['ack']:.2f} s, derived complete "
                    f"{full['visible']:.2f} s = {full['visible'] / fl['total']:.1f}x floor\n"
                    f"  one row changed: ack {one['ack']:.2f} s, derived updated "
                    f"{one['visible']:.2f} s = {one['visible'] / r['floor']['decode']:.1f}x"
                    f" decode ({one['visible'] / r['floor']['total']:.1f}x floor)\n"
                    f"  1-row reads during the PUTs: full p50 {full['read_p50'] * 1e3:.1f} / "
                    f"p99 {full['read_p99'] * 1e3:.0f} / max {full['read_max'] * 1e3:.0f} ms "
                    f"({full['read_n']} reads); one-changed p99 {one['read_p99'] * 1e3:.0f} / "
                    f"max {one['read_max'] * 1e3:.0f} ms\n"
                    f"  server's garbage collections: full PUT {full['gc_seconds'] * 1e3:.0f} ms"
                    f" in {full['gc_count']}, one changed {one['gc_seconds'] * 1e3:.0f} ms in "
                    f"{one['gc_count']}\n"
                    f"  server RSS: {r['rss_start']} MiB before, {r['rss_end']} MiB after, "
                    f"peak {r['rss_peak']} MiB; ready {r['ready']:.2f} s after spawn")
            print(line, flush=True)
            summary.append((n, r))
    print("\nsummary (N, full s / x floor, one-changed s / x decode, read p99 ms (the "
          "higher of the two PUTs), "
          "collections during the full PUT ms, peak RSS MiB)")
    for n in sorted({n for n, _ in summary}):
        rs = [r for m, r in summary if m == n]
        print(f"  {n:>7}: full " + " / ".join(f"{r['full']['visible']:.2f}" for r in rs)
              + " s (" + " / ".join(f"{r['full']['visible'] / r['floor']['total']:.1f}x"
                                    for r in rs)
              + "); one-changed " + " / ".join(f"{r['one_changed']['visible']:.2f}" for r in rs)
              + " s (" + " / ".join(
                  f"{r['one_changed']['visible'] / r['floor']['decode']:.1f}x"
                  for r in rs)
              + "); read p99 " + " / ".join(
                  f"{max(r['full']['read_p99'], r['one_changed']['read_p99']) * 1e3:.0f}"
                  for r in rs)
              + " ms; gc " + " / ".join(f"{r['full']['gc_seconds'] * 1e3:.0f}" for r in rs)
              + " ms; peak " + " / ".join(str(r["rss_peak"]) for r in rs) + " MiB; floor "
              + f"{statistics.median(r['floor']['total'] for r in rs):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
