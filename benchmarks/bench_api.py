"""REST API benchmark (issue: API): a real all-in-one ``congress-server`` (SQLite, in-process
bus, in a temporary directory) loaded with the *violations* data through pushed rows.

Run: ``.venv/bin/python benchmarks/bench_api.py [--scale 1] [--clients 8] [--seconds 5]
[--inserts 50] [--profile DIR]``

Data: the generic ``push`` driver has a single table, ``data``, whose width is set by the first
rows pushed to it. So each source table of the workload becomes its own push datasource --
``nova:servers`` -> ``nova_servers:data``, ``neutron:ports`` -> ``neutron_ports:data``,
``neutron:networks`` -> ``neutron_networks:data`` -- and :func:`positional_policy` rewrites
``datagen.VIOLATIONS_POLICY`` accordingly: every ``svc:table(col=v, ...)`` literal becomes
``svc_table:data(...)`` with the arguments in the column order of ``datagen.SCHEMAS`` (fresh
variables for the columns the literal does not mention). Rows are loaded with one
``PUT /v1/data-sources/<ds>/tables/data/rows`` per table (``persist_data`` off).

Measured (``--clients`` threads, each with its own keep-alive ``http.client`` connection):

* ``GET /v1/policies/classification/tables/violation/rows`` (~10k rows at scale 1) and
  ``GET /v1/policies/bench/tables/ten/rows`` (10 rows): throughput and p50/p99 latency;
* rule insert (``POST /v1/policies/bench/rules``, each a new rule): p50/p99 latency with one
  client and with ``--clients`` concurrent clients;
* one ``PUT`` of all ``nova_servers`` rows (100k at scale 1, a changed copy) until the derived
  ``violation`` table holds the expected rows (computed here in Python), polled every 20 ms;
* for reference, the same read load on a bare falcon + waitress app with a constant body (what
  the machine and the Python load generator allow at all; skip with ``--no-baseline``).

``--profile DIR`` samples the server with py-spy (``pip install py-spy``) during each phase and
writes ``DIR/<phase>.txt`` (the hottest functions, by own and by total samples).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from benchmarks import datagen  # noqa: E402
from tests.functional.harness import CongressProcess  # noqa: E402

TARGETS = {
    "small_rps": 1500.0,        # 10-row read, req/s
    "small_p99_ms": 50.0,
    "insert_p50_ms": 20.0,
    "put_100k_s": 5.0,
}

_LITERAL = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*):([A-Za-z_][A-Za-z0-9_]*)\(([^()]*)\)")


# --------------------------------------------------------------------------- data, policy
def ds_name(service: str, table: str) -> str:
    return f"{service}_{table}"


def positional_policy(text: str, schemas: dict[str, dict[str, list[str]]]) -> str:
    """``svc:table(col=v, ...)`` -> ``svc_table:data(v0, v1, ...)`` in schema column order."""
    counter = iter(range(1_000_000))

    def rewrite(m: re.Match[str]) -> str:
        service, table, args = m.group(1), m.group(2), m.group(3)
        columns = schemas[service][table]
        values: list[str | None] = [None] * len(columns)
        for i, arg in enumerate(a.strip() for a in args.split(",") if a.strip()):
            if "=" in arg:
                col, value = (x.strip() for x in arg.split("=", 1))
                values[columns.index(col)] = value
            else:
                values[i] = arg
        filled = [v if v is not None else f"z{next(counter)}" for v in values]
        return f"{ds_name(service, table)}:data({', '.join(filled)})"

    return _LITERAL.sub(rewrite, text)


def expected_violations(data: dict[tuple[str, str], list[tuple]]) -> set[tuple[str, str]]:
    """The ``violation(s, p)`` rows of ``datagen.VIOLATIONS_POLICY``, computed directly."""
    networks = data[("neutron", "networks")]
    shared = {n[0] for n in networks if n[3] == "True"}
    net_tenant = {n[0]: n[2] for n in networks}
    active_tenant = {s[0]: s[4] for s in data[("nova", "servers")] if s[3] == "ACTIVE"}
    out = set()
    for p, s, n, _mac, _ip in data[("neutron", "ports")]:
        t = active_tenant.get(s)
        t2 = net_tenant.get(n)
        if t is not None and t2 is not None and n not in shared and t != t2:
            out.add((s, p))
    return out


# --------------------------------------------------------------------------- HTTP
class Client:
    """One keep-alive connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def request(self, method: str, path: str, body: Any = None,
                raw: bytes | None = None) -> tuple[int, bytes]:
        headers = {}
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        status, raw = self.request(method, path, body)
        if status != expect:
            raise RuntimeError(f"{method} {path} -> {status}: {raw[:500]!r}")
        return json.loads(raw) if raw.strip() else None

    def close(self) -> None:
        self.conn.close()


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def concurrent(port: int, clients: int, work: Callable[[Client, int, int], tuple[int, bytes]],
               *, seconds: float | None = None, per_client: int | None = None) -> dict:
    """``clients`` threads call ``work(client, thread, i)`` for ``seconds`` (or ``per_client``
    times each); latencies of successful calls, errors counted."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = Counter()
    barrier = threading.Barrier(clients + 1)
    stop_at: list[float] = [0.0]

    def run(n: int) -> None:
        client = Client(port)
        client.request("GET", "/v1")          # connect before the clock starts
        barrier.wait()
        i = 0
        mine = latencies[n]
        while True:
            if per_client is not None and i >= per_client:
                break
            if seconds is not None and time.perf_counter() >= stop_at[0]:
                break
            t0 = time.perf_counter()
            status, raw = work(client, n, i)
            dt = time.perf_counter() - t0
            if 200 <= status < 300:
                mine.append(dt)
            else:
                errors[f"{status} {raw[:120]!r}"] += 1
            i += 1
        client.close()

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + 3600.0     # set for real once every client connected
    barrier.wait()
    t0 = time.perf_counter()
    stop_at[0] = t0 + (seconds or 0)
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    flat = [x for xs in latencies for x in xs]
    return {"n": len(flat), "elapsed": elapsed, "rps": len(flat) / elapsed if elapsed else 0.0,
            "p50": pct(flat, 50) if flat else float("nan"),
            "p99": pct(flat, 99) if flat else float("nan"),
            "mean": statistics.fmean(flat) if flat else float("nan"),
            "errors": dict(errors)}


# --------------------------------------------------------------------------- baseline
BASELINE_APP = r"""
import sys, falcon, waitress
class Rows:
    def on_get(self, req, resp):
        resp.content_type = "application/json; charset=UTF-8"
        resp.data = b'{"results": [{"data": [0]}]}\n'
app = falcon.App()
app.add_route("/rows", Rows())
waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=16, _quiet=True)
"""


def baseline(clients: int, seconds: float) -> dict:
    """The same load on a bare falcon + waitress app answering a constant body: what this
    machine and this load generator allow at all."""
    from tests.functional.harness import free_port, port_open
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", BASELINE_APP, str(port)])
    try:
        deadline = time.monotonic() + 30
        while not port_open(port):
            if time.monotonic() > deadline:
                raise RuntimeError("baseline app did not start")
            time.sleep(0.1)
        work = lambda cl, n, i: cl.request("GET", "/rows")  # noqa: E731
        concurrent(port, clients, work, seconds=1.0)
        return concurrent(port, clients, work, seconds=seconds)
    finally:
        proc.terminate()
        proc.wait(10)


# --------------------------------------------------------------------------- profiling
class Profiler:
    """py-spy sampling of the server process during one phase (``--profile``)."""

    def __init__(self, outdir: str | None, pid: int) -> None:
        self.outdir = outdir
        self.pid = pid
        self.proc: subprocess.Popen | None = None
        self.raw = ""
        self.exe = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable),
                                                            "py-spy")
        if outdir:
            os.makedirs(outdir, exist_ok=True)
            if not os.path.exists(self.exe):
                raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")

    def start(self, phase: str) -> None:
        if not self.outdir:
            return
        self.raw = os.path.join(self.outdir, f"{phase}.collapsed")
        self.proc = subprocess.Popen([self.exe, "record", "--pid", str(self.pid), "--format",
                                      "raw", "--rate", "25", "--nonblocking",
                                      "--output", self.raw],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)     # let py-spy attach

    def stop(self, phase: str) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.proc = None
        summary = summarize_collapsed(self.raw)
        with open(os.path.join(self.outdir, f"{phase}.txt"), "w") as f:
            f.write(summary)
        print(f"\n--- profile {phase} (py-spy, server process) ---\n{summary}", flush=True)


def summarize_collapsed(path: str, top: int = 25) -> str:
    """Own and total sample counts per function from py-spy's raw (collapsed) output, idle
    waiting threads excluded."""
    own: Counter = Counter()
    total: Counter = Counter()
    samples = 0
    idle = ("wait (threading.py", "select (selectors.py", "poll (", "poll2 (waitress",
            "_wait_for_tstate_lock",
            "get (queue.py", "handler_thread (waitress", "run (waitress/server.py",
            "loop (waitress/wasyncore.py")
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return "(no samples)"
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        if any(frames[-1].startswith(i) or i in frames[-1] for i in idle):
            continue
        n = int(count)
        samples += n
        own[frames[-1]] += n
        for fr in set(frames[1:]):
            total[fr] += n
    out = [f"busy samples: {samples}", "", "own:"]
    out += [f"  {100 * c / samples:5.1f}%  {f}" for f, c in own.most_common(top)] if samples \
        else []
    out += ["", "total (inclusive):"]
    out += [f"  {100 * c / samples:5.1f}%  {f}" for f, c in total.most_common(top)] if samples \
        else []
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- benchmark
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=5.0, help="duration of each read phase")
    ap.add_argument("--inserts", type=int, default=50, help="rule inserts per client")
    ap.add_argument("--profile", metavar="DIR", help="py-spy the server during each phase")
    ap.add_argument("--keep", action="store_true", help="keep the server's directory")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the bare falcon + waitress reference measurement")
    args = ap.parse_args()

    t_gen = time.perf_counter()
    data = datagen.violations_data(args.scale)
    expected = expected_violations(data)
    print(f"data: scale {args.scale}: " + ", ".join(
        f"{s}:{t} {len(rows)} rows" for (s, t), rows in data.items())
        + f"; expected violations {len(expected)} ({time.perf_counter() - t_gen:.1f} s)",
        flush=True)

    workdir = tempfile.mkdtemp(prefix="congress-bench-api-")
    server = CongressProcess(workdir, node_id="bench", extra={
        "DEFAULT": {"max_request_body_size": 1024 * 1024 * 1024,
                    "datasource_sync_period": 0}})
    results: dict[str, Any] = {}
    try:
        server.start(timeout=120)
        assert server.proc is not None
        prof = Profiler(args.profile, server.proc.pid)
        c = Client(server.port)

        # --- datasources, policies, data
        for (service, table) in data:
            c.json("POST", "/v1/data-sources", {
                "name": ds_name(service, table), "driver": "push",
                "config": {"description": f"{service}:{table} (benchmark)"}}, expect=201)
        policy = positional_policy(datagen.VIOLATIONS_POLICY, datagen.SCHEMAS)
        rules = [r.strip() for r in re.split(r"\n(?=\S)", policy.strip()) if r.strip()]
        for rule in rules:
            c.json("POST", "/v1/policies/classification/rules", {"rule": rule}, expect=201)
        c.json("POST", "/v1/policies", {"name": "bench"}, expect=201)
        for i in range(10):
            c.json("POST", "/v1/policies/bench/rules", {"rule": f"ten({i})"}, expect=201)

        t_load = time.perf_counter()
        for (service, table), rows in data.items():
            t0 = time.perf_counter()
            c.json("PUT", f"/v1/data-sources/{ds_name(service, table)}/tables/data/rows",
                   [list(r) for r in rows])
            print(f"  PUT {ds_name(service, table)}: {len(rows)} rows in "
                  f"{time.perf_counter() - t0:.2f} s", flush=True)
        violation_path = "/v1/policies/classification/tables/violation/rows"

        def violation_rows() -> set[tuple[str, str]]:
            return {tuple(r["data"]) for r in c.json("GET", violation_path)["results"]}

        deadline = time.monotonic() + 600
        while violation_rows() != expected:
            if time.monotonic() > deadline:
                raise RuntimeError("derived table never matched the expected violations")
            time.sleep(0.05)
        results["load_s"] = time.perf_counter() - t_load
        n_violation = len(expected)
        print(f"loaded and derived in {results['load_s']:.2f} s: violation has "
              f"{n_violation} rows", flush=True)

        # --- reads
        small_path = "/v1/policies/bench/tables/ten/rows"
        assert len(c.json("GET", small_path)["results"]) == 10

        def get(path: str) -> Callable[[Client, int, int], tuple[int, bytes]]:
            return lambda cl, n, i: cl.request("GET", path)

        concurrent(server.port, args.clients, get(small_path), seconds=1.0)   # warm-up
        prof.start("read_10")
        results["read_10"] = concurrent(server.port, args.clients, get(small_path),
                                        seconds=args.seconds)
        prof.stop("read_10")
        prof.start("read_10k")
        results["read_10k"] = concurrent(server.port, args.clients, get(violation_path),
                                         seconds=args.seconds)
        prof.stop("read_10k")

        # --- rule inserts
        def insert(tag: str) -> Callable[[Client, int, int], tuple[int, bytes]]:
            return lambda cl, n, i: cl.request(
                "POST", "/v1/policies/bench/rules",
                {"rule": f"ins_{tag}_{n}_{i}(x) :- ten(x), lt(x, {i % 10})"})

        results["insert_1"] = concurrent(server.port, 1, insert("seq"),
                                         per_client=args.inserts * 2)
        prof.start("insert")
        results["insert_n"] = concurrent(server.port, args.clients, insert("conc"),
                                         per_client=args.inserts)
        prof.stop("insert")

        # --- one big PUT until the derived table follows
        servers = data[("nova", "servers")]
        changed = [(s[0], s[1], s[2], "ACTIVE" if s[3] != "ACTIVE" else "SHUTOFF", *s[4:])
                   if i % 2 == 0 else s for i, s in enumerate(servers)]
        new_data = dict(data)
        new_data[("nova", "servers")] = changed
        new_expected = expected_violations(new_data)
        body = json.dumps([list(r) for r in changed]).encode()
        put_client = Client(server.port)
        prof.start("put")
        t0 = time.perf_counter()
        status, raw = put_client.request(
            "PUT", f"/v1/data-sources/{ds_name('nova', 'servers')}/tables/data/rows", raw=body)
        t_put = time.perf_counter() - t0
        if status != 200:
            raise RuntimeError(f"PUT failed: {status} {raw[:300]!r}")
        polls = 0
        while True:
            polls += 1
            if violation_rows() == new_expected:
                break
            if time.perf_counter() - t0 > 600:
                raise RuntimeError("the derived table never reflected the PUT")
            time.sleep(0.02)
        t_visible = time.perf_counter() - t0
        prof.stop("put")
        results["put"] = {"rows": len(changed), "bytes": len(body), "put_s": t_put,
                          "visible_s": t_visible, "violations_before": n_violation,
                          "violations_after": len(new_expected), "polls": polls}
        put_client.close()
        c.close()
    finally:
        server.stop()
        if args.keep:
            print(f"server directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    if not args.no_baseline:
        results["baseline"] = baseline(args.clients, args.seconds)
    report(args, results)
    return 0


def report(args: argparse.Namespace, r: dict[str, Any]) -> None:
    def ms(x: float) -> str:
        return f"{x * 1000:.1f} ms"

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    small, big, ins1, insn, put = (r["read_10"], r["read_10k"], r["insert_1"], r["insert_n"],
                                   r["put"])
    rows = [
        ("GET rows, 10-row table", f"{small['rps']:.0f} req/s", ms(small["p50"]),
         ms(small["p99"]),
         f">= {TARGETS['small_rps']:.0f} req/s, p99 < {TARGETS['small_p99_ms']:.0f} ms: "
         + verdict(small["rps"] >= TARGETS["small_rps"]
                   and small["p99"] * 1000 < TARGETS["small_p99_ms"])),
        (f"GET rows, {put['violations_before']}-row table", f"{big['rps']:.0f} req/s",
         ms(big["p50"]), ms(big["p99"]), "-"),
        ("rule insert, 1 client", f"{ins1['rps']:.0f} req/s", ms(ins1["p50"]), ms(ins1["p99"]),
         f"p50 < {TARGETS['insert_p50_ms']:.0f} ms: "
         + verdict(ins1["p50"] * 1000 < TARGETS["insert_p50_ms"])),
        (f"rule insert, {args.clients} clients", f"{insn['rps']:.0f} req/s", ms(insn["p50"]),
         ms(insn["p99"]), f"p50 < {TARGETS['insert_p50_ms']:.0f} ms: "
         + verdict(insn["p50"] * 1000 < TARGETS["insert_p50_ms"])),
        (f"PUT {put['rows']} rows -> derived table", f"{put['visible_s']:.2f} s",
         f"PUT {put['put_s']:.2f} s", "-",
         f"< {TARGETS['put_100k_s']:.0f} s: "
         + verdict(put["visible_s"] < TARGETS["put_100k_s"])),
    ]
    print()
    print(f"API benchmark: scale {args.scale}, {args.clients} concurrent clients (threads, "
          f"keep-alive http.client), {args.seconds:.0f} s per read phase, all-in-one server on "
          "SQLite")
    print(f"initial load (3 PUTs until violation is derived): {r['load_s']:.2f} s; "
          f"violations {put['violations_before']} -> {put['violations_after']} after the PUT")
    header = ("measurement", "throughput / time", "p50", "p99", "target")
    widths = [max(len(str(x[i])) for x in rows + [header]) for i in range(5)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))
    errs = {k: v["errors"] for k, v in r.items() if isinstance(v, dict) and v.get("errors")}
    if errs:
        print(f"errors: {errs}")
    print(f"requests: 10-row {small['n']}, big {big['n']}, inserts {ins1['n']} + {insn['n']}")
    if "baseline" in r:
        b = r["baseline"]
        print(f"reference: bare falcon + waitress app, constant body, same load: "
              f"{b['rps']:.0f} req/s, p50 {ms(b['p50'])}, p99 {ms(b['p99'])}")


if __name__ == "__main__":
    sys.exit(main())
