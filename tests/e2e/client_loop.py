"""A bounded client loop against a Congress API (for failover and rolling-upgrade tests).

Sends ``GET URL`` every ``--interval`` seconds until the file ``--stop-file`` exists or
``--max-seconds`` pass (at most ``--max-requests`` requests), then writes a JSON summary
(requests, failures with their time and error, the statuses seen) to ``--out``. A request that
does not answer 200 within ``--timeout`` seconds is a failure.

    python3 -m tests.e2e.client_loop --url http://10.213.100.15:1789/v1/policies \\
        --stop-file /tmp/stop --out /tmp/loop.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request


def run(url: str, stop_file: str, out: str, interval: float, timeout: float,
        max_seconds: float, max_requests: int) -> dict:
    started = time.monotonic()
    summary: dict = {"url": url, "requests": 0, "failures": [], "statuses": {}}
    while (time.monotonic() - started < max_seconds and summary["requests"] < max_requests
           and not os.path.exists(stop_file)):
        t0 = time.monotonic()
        summary["requests"] += 1
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                status = resp.status
                resp.read()
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (OSError, urllib.error.URLError) as exc:
            status = 0
            summary["failures"].append({"t": round(t0 - started, 2), "error": str(exc)})
        summary["statuses"][str(status)] = summary["statuses"].get(str(status), 0) + 1
        if status not in (0, 200):
            summary["failures"].append({"t": round(t0 - started, 2), "error": f"HTTP {status}"})
        time.sleep(max(0.0, interval - (time.monotonic() - t0)))
    summary["seconds"] = round(time.monotonic() - started, 1)
    summary["failed"] = len(summary["failures"])
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(summary, f, indent=1)
    os.replace(tmp, out)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tests.e2e.client_loop",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--stop-file", required=True, help="stop once this file exists")
    parser.add_argument("--out", required=True, help="JSON summary written here at the end")
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument("--max-requests", type=int, default=20000)
    args = parser.parse_args(argv)
    summary = run(args.url, args.stop_file, args.out, args.interval, args.timeout,
                  args.max_seconds, args.max_requests)
    print(json.dumps({k: summary[k] for k in ("requests", "failed", "seconds")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
