"""The README's quick start, literally, on a clean Debian 12 host (systemd as PID 1).

Boots a bare host (debootstrap minbase + systemd; nothing else) with :mod:`tests.e2e.lab`, and
inside it, as a new user would:

1. runs the README's "get the code" block (``apt-get install git curl``, ``git clone``), cloning
   this checkout's HEAD commit (a bare copy mounted read-only at ``/src``) in place of the
   repository URL;
2. starts ``bash scripts/dev.sh server`` and waits until it answers on :1789;
3. runs the README's examples against it (every call must answer 2xx, see
   :mod:`tests.readme_examples`);
4. stops the server and runs ``bash scripts/dev.sh test`` to the end: zero failures, zero errors.

Exits non-zero when any step fails, printing each step's wall time (recorded in the README's
"Clean-host times")::

    python3 -m tests.e2e.clean_host             # all four steps (~30 min on 2 cores)
    python3 -m tests.e2e.clean_host --no-tests  # steps 1-3 only
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import uuid

from tests import readme_examples
from tests.e2e.lab import Lab, log

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
URL_PLACEHOLDER = "<this repository's URL>"


def get_code_block() -> str:
    """The README block that installs git and curl and clones the repository."""
    with open(readme_examples.README, encoding="utf-8") as f:
        text = f.read()
    for block in re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M):
        if "git clone" in block:
            if URL_PLACEHOLDER not in block:
                raise ValueError(f"the README's clone command no longer says {URL_PLACEHOLDER}")
            return block.replace(URL_PLACEHOLDER, "/src")
    raise ValueError("README.md has no ```sh block with git clone")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m tests.e2e.clean_host",
        description="Run the README's quick start on a clean Debian 12 host booted with "
                    "systemd-nspawn: get the code, dev.sh server, the README's examples, "
                    "dev.sh test.")
    parser.add_argument("--no-tests", action="store_true",
                        help="stop after the README's examples (skip dev.sh test)")
    parser.add_argument("--keep", action="store_true",
                        help="leave the host running afterwards (remove it with "
                             "python3 -m tests.e2e.lab down NAME)")
    args = parser.parse_args(argv)

    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    if dirty:
        log("warning: uncommitted changes are not tested (the host clones HEAD)")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()
    times: dict[str, float] = {}
    failed = ""
    lab = Lab("ch" + uuid.uuid4().hex[:6], owner=0 if args.keep else None)
    lab.up()
    try:
        # what the host clones: a bare copy of this checkout (a worktree's .git points
        # outside of it), whose HEAD is this checkout's
        src = os.path.join(lab.dir, "src.git")
        subprocess.run(["git", "clone", "--quiet", "--bare", ROOT, src], check=True)
        host = lab.add_host("clean", ro_binds=[f"{src}:/src"])

        def step(name: str, script: str, **kw: object) -> subprocess.CompletedProcess:
            log(f"step: {name}")
            t0 = time.monotonic()
            proc = host.run(script, check=False, **kw)
            times[name] = time.monotonic() - t0
            log(f"step: {name}: exit {proc.returncode} after {times[name]:.0f} s")
            return proc

        # 1. get the code (the README's block)
        proc = step("get the code", "set -e\ncd /root\n" + get_code_block(), stream=True)
        if proc.returncode != 0:
            failed = "getting the code failed"
            return 1
        cloned = host.out("cd /root/congress && git rev-parse HEAD").strip()
        if cloned != head:
            failed = f"the host cloned {cloned}, not {head}"
            return 1

        # 2. the server, until it answers
        log("step: bash scripts/dev.sh server")
        t0 = time.monotonic()
        host.run("(cd /root/congress && exec setsid bash scripts/dev.sh server) "
                 ">/root/server.log 2>&1 </dev/null & echo $! >/root/server.pid")
        deadline = time.monotonic() + 1200
        while time.monotonic() < deadline:
            if host.run("curl -sf localhost:1789/ >/dev/null", check=False).returncode == 0:
                break
            if host.run("kill -0 $(cat /root/server.pid)", check=False).returncode != 0:
                break  # the server exited
            time.sleep(2)
        times["dev.sh server: first answer"] = time.monotonic() - t0
        if host.run("curl -sf localhost:1789/ >/dev/null", check=False).returncode != 0:
            print(host.out("tail -50 /root/server.log", check=False))
            failed = "bash scripts/dev.sh server did not answer on :1789"
            return 1
        log(f"step: server answers after {times['dev.sh server: first answer']:.0f} s")

        # 3. the README's examples, in order, against it
        proc = step("README examples", readme_examples.script())
        problems = readme_examples.problems(proc.stdout)
        if proc.returncode != 0 or problems:
            print(proc.stdout, proc.stderr, sep="\n")
            failed = "README examples failed: " + "; ".join(problems)
            return 1
        host.run("kill -TERM -- -$(cat /root/server.pid)", check=False)
        if args.no_tests:
            return 0

        # 4. the whole test suite
        proc = step("dev.sh test", "cd /root/congress && bash scripts/dev.sh test "
                    "2>&1 | tee /root/test.log; exit ${PIPESTATUS[0]}", stream=True,
                    timeout=4 * 3600)
        summary = host.out("grep -E '(passed|failed|error)' /root/test.log | tail -1",
                           check=False).strip()
        if proc.returncode != 0 or re.search(r"\d+ (failed|errors?)\b", summary):
            failed = f"bash scripts/dev.sh test failed: {summary}"
            return 1
        log(f"dev.sh test: {summary}")
        return 0
    finally:
        print("\nclean-host times (wall):")
        for name, seconds in times.items():
            print(f"  {name:32s} {seconds:7.0f} s")
        if failed:
            print(f"\nFAILED: {failed}", file=sys.stderr)
        if args.keep:
            log(f"host kept: python3 -m tests.e2e.lab exec {lab.name} clean -- bash")
        else:
            lab.down()


if __name__ == "__main__":
    sys.exit(main())
