"""The Debian packages on real Debian 12 hosts (systemd as PID 1, :mod:`tests.e2e.lab`).

Run with ``bash scripts/dev.sh test-e2e`` (root; builds the packages with ``dev.sh debs`` first).
Each test boots its own lab, installs from the built packages as a flat apt repository
(``deb [trusted=yes] file:/debs ./``) and Debian 12's own archive, and removes the lab after:

1. ``test_server_install``: congress-server on a bare host → unit active, the API answers on
   :1789, a policy with a rule over a push datasource works, data survives a restart; SIGHUP
   reloads, SIGTERM drains; the units are hardened and verify clean; the OCF meta-data validates.
2. ``test_pe_pair``: congress-pe on a host with MariaDB and RabbitMQ → congress-pe@1 and @2 on
   1790/1791; kill -9 of one → systemd restarts it.
3. ``test_upgrade_and_purge``: the previous version (built from a bumped changelog) → upgrade
   keeps the edited congress.conf and the data; purge leaves no process and no files.
4. ``test_pacemaker_failover``: two hosts with corosync + pacemaker and a congress-datasource
   primitive (plus a database/broker host): ocf-tester passes; kill → Pacemaker restarts it;
   pacemaker stopped on the active host → the datasource node runs on the other and pushed
   data is back through the PEs' API within 60 s.

``CONGRESS_E2E_REUSE_DEBS=1`` skips the build when build/debs and build/debs-prev exist.
Each step's wall time is printed at the end and written to ``build/e2e-times.json``
(benchmarks/RESULTS.md, "Debian packages on lab hosts").
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from tests.e2e.lab import Host, Lab, log, missing_tools

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEBS = os.path.join(ROOT, "build", "debs")
PREV = os.path.join(ROOT, "build", "debs-prev")
PREV_VERSION = "0.0.9"
TIMES: dict[str, float] = {}
TIMES_FILE = os.path.join(ROOT, "build", "e2e-times.json")
PASSWORD = "congress-lab-pw"

pytestmark = pytest.mark.slow


class step:
    """Times a step: ``with step("name"):`` records its wall time in TIMES."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> step:
        log(f"step: {self.name}")
        self.t0 = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        TIMES[self.name] = round(time.monotonic() - self.t0, 1)
        log(f"step: {self.name}: {TIMES[self.name]} s{' (failed)' if exc[0] else ''}")
        save_times()


def save_times() -> None:
    """Merge TIMES into build/e2e-times.json (tests may run in separate processes)."""
    os.makedirs(os.path.dirname(TIMES_FILE), exist_ok=True)
    try:
        with open(TIMES_FILE) as f:
            saved = json.load(f)
    except (OSError, ValueError):
        saved = {}
    saved.update(TIMES)
    with open(TIMES_FILE, "w") as f:
        json.dump(saved, f, indent=1)


def _dev(*args: str, env: dict | None = None) -> str:
    proc = subprocess.run(["bash", os.path.join(ROOT, "scripts", "dev.sh"), *args],
                          cwd=ROOT, text=True, capture_output=True,
                          env={**os.environ, **(env or {})})
    assert proc.returncode == 0, f"dev.sh {' '.join(args)} failed:\n{proc.stderr[-8000:]}"
    return proc.stderr


@pytest.fixture(scope="session")
def debs() -> Iterator[None]:
    assert os.geteuid() == 0, "the lab tests need root"
    assert not missing_tools(), f"missing: {missing_tools()}"
    if os.environ.get("CONGRESS_E2E_REUSE_DEBS") and os.path.exists(
            os.path.join(DEBS, "Packages")) and os.path.exists(os.path.join(PREV, "Packages")):
        log("CONGRESS_E2E_REUSE_DEBS set: using the packages in build/debs, build/debs-prev")
    else:
        with step("build packages (dev.sh debs, with unit tests and lintian)"):
            out = _dev("debs")
        assert "E: " not in out, out
        # the same code under another version number: its unit tests ran in the build above
        with step(f"build previous version {PREV_VERSION} (no lintian, no unit tests)"):
            _dev("debs", "--version", PREV_VERSION, "--out", PREV, "--no-lintian",
                 env={"DEB_BUILD_OPTIONS": "nocheck"})
    yield
    log("lab step times: " + json.dumps(TIMES, indent=1))


# ----------------------------------------------------------------------------- helpers
def apt_setup(host: Host, *repos: str) -> None:
    """The built packages as flat repositories (bind-mounted at /debs, /debs-prev)."""
    host.write("/etc/apt/sources.list.d/congress.list",
               "".join(f"deb [trusted=yes] file:{r} ./\n" for r in repos))
    host.run("apt-get update -qq", timeout=600)


# Debian's packages downloaded by earlier hosts (each host gets a copy before installing and
# gives back what it downloaded): repeated runs do not fetch MariaDB, RabbitMQ, Pacemaker ...
# again. Our own packages are never cached (same version, new content).
DEB_CACHE = os.path.join(os.environ.get("CONGRESS_LAB_CACHE", "/var/cache/congress-lab"),
                         "apt-archives")
_CACHE_LOCK = threading.Lock()


def _cacheable(name: str) -> bool:
    return name.endswith(".deb") and "congress" not in name


def apt_install(host: Host, *packages: str) -> str:
    archives = os.path.join(host.root, "var/cache/apt/archives")
    with _CACHE_LOCK:
        os.makedirs(DEB_CACHE, exist_ok=True)
        os.makedirs(archives, exist_ok=True)
        for name in os.listdir(DEB_CACHE):
            if _cacheable(name) and not os.path.exists(os.path.join(archives, name)):
                shutil.copyfile(os.path.join(DEB_CACHE, name), os.path.join(archives, name))
    out = host.out("apt-get install -y -qq -o Dpkg::Options::=--force-confold "
                   + " ".join(packages) + " 2>&1", timeout=1800)
    with _CACHE_LOCK:
        for name in os.listdir(archives):
            target = os.path.join(DEB_CACHE, name)
            if _cacheable(name) and not os.path.exists(target):
                shutil.copyfile(os.path.join(archives, name), target + ".tmp")
                os.replace(target + ".tmp", target)
    return out


API_CLIENT = r'''
import json, sys, time, urllib.error, urllib.request

def call(port, method, path, body=None, timeout=60):
    """The API at 127.0.0.1:port; retries while the server is not (yet) reachable."""
    data = None if body is None else json.dumps(body).encode()
    deadline = time.time() + timeout
    while True:
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                     method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                text = r.read().decode()
                return json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            if e.code < 500 or time.time() > deadline:
                raise SystemExit(f"{method} {path}: {e.code} {e.read().decode()}")
        except OSError:
            if time.time() > deadline:
                raise
        time.sleep(0.5)

port, method, path = sys.argv[1:4]
body = json.loads(sys.argv[4]) if len(sys.argv) > 4 else None
print(json.dumps(call(int(port), method, path, body)))
'''


def api(host: Host, port: int, method: str, path: str, body: object = None) -> object:
    host.write("/usr/local/bin/congress-api-call", API_CLIENT, mode=0o755)
    argv = ["python3", "/usr/local/bin/congress-api-call", str(port), method, path]
    if body is not None:
        argv.append(json.dumps(body))
    return json.loads(host.out(argv, timeout=120))


def push_events(host: Host, port: int, hostname: str) -> None:
    api(host, port, "PUT", "/v1/data-sources/doctor/tables/events/rows",
        [{"time": "2026-12-04T10:00:00Z", "type": "compute.host.down",
          "details": {"hostname": hostname, "status": "down", "monitor": "m1",
                      "monitor_event_id": hostname}}])


def host_down_rows(host: Host, port: int) -> list:
    res = api(host, port, "GET", "/v1/policies/checks/tables/host_down/rows")
    return sorted(r["data"][0] for r in res["results"])


def create_policy(host: Host, port: int, *, datasource: bool = True) -> None:
    """Policy ``checks`` with a rule over the push datasource ``doctor`` (created here unless
    ``datasource`` is False: a datasource needs a datasource node)."""
    if datasource:
        api(host, port, "POST", "/v1/data-sources",
            {"name": "doctor", "driver": "doctor", "config": {"persist_data": "true"}})
    api(host, port, "POST", "/v1/policies", {"name": "checks"})
    if not datasource:
        api(host, port, "POST", "/v1/policies/checks/rules", {"rule": "host_down(h) :- down(h)"})
        return
    api(host, port, "POST", "/v1/policies/checks/rules",
        {"rule": 'host_down(h) :- doctor:events(hostname=h, status="down")'})


def main_pid(host: Host, unit: str) -> int:
    return int(host.out(["systemctl", "show", "-P", "MainPID", unit]).strip())


def wait_for(what: str, check, timeout: float) -> float:
    """Poll ``check()`` until true; returns the seconds it took."""
    t0 = time.monotonic()
    last: object = None
    while time.monotonic() - t0 < timeout:
        try:
            last = check()
            if last:
                return time.monotonic() - t0
        except (subprocess.CalledProcessError, SystemExit, ValueError) as e:
            last = e
        time.sleep(1)
    raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {last!r})")


def configure_cluster(host: Host, db: str) -> None:
    """Point /etc/congress/congress.conf at MariaDB and RabbitMQ on ``db`` (as an operator
    would edit it)."""
    host.run(["sed", "-i",
              "-e", f"s|^#transport_url = rabbit://$|transport_url = "
                    f"rabbit://congress:{PASSWORD}@{db}:5672/|",
              "-e", f"s|^#connection = sqlite:.*|connection = "
                    f"mysql+pymysql://congress:{PASSWORD}@{db}/congress|",
              "/etc/congress/congress.conf"])
    conf = host.read("/etc/congress/congress.conf")
    assert "\ntransport_url = rabbit://congress" in conf and "\nconnection = mysql" in conf


DB_UPGRADE = ("runuser -u congress -- congress-db-manage --config-file /etc/congress/congress.conf "
              "upgrade head")


def install_db_and_broker(host: Host, *, remote: bool) -> None:
    apt_install(host, "mariadb-server", "rabbitmq-server")
    who = "%" if remote else "localhost"
    if remote:
        host.write("/etc/mysql/mariadb.conf.d/99-lab.cnf", "[mysqld]\nbind-address = 0.0.0.0\n")
        host.run("systemctl restart mariadb")
    host.run(["mariadb", "-e",
              f"CREATE DATABASE IF NOT EXISTS congress; "
              f"CREATE USER IF NOT EXISTS 'congress'@'{who}' IDENTIFIED BY '{PASSWORD}'; "
              f"GRANT ALL ON congress.* TO 'congress'@'{who}';"])
    host.run(f"rabbitmqctl add_user congress {PASSWORD} && "
             "rabbitmqctl set_permissions -p / congress '.*' '.*' '.*'", timeout=300)


def journal(host: Host, unit: str, lines: int = 40) -> str:
    return host.out(["journalctl", "-u", unit, "-n", str(lines), "--no-pager"], check=False)


# ----------------------------------------------------------------------------- 1
def test_server_install(debs):
    with Lab("pkgsrv") as lab:
        with step("1. boot host"):
            h = lab.add_host("srv", ro_binds=[f"{DEBS}:/debs"])
        with step("1. apt install congress-server (Debian deps from the archive)"):
            apt_setup(h, "/debs")
            apt_install(h, "congress-server")
        assert h.out(["systemctl", "is-active", "congress-server"]).strip() == "active"
        assert h.out(["systemctl", "is-enabled", "congress-server"]).strip() == "enabled"
        # nothing from pip: every Python module of the server comes from a Debian package
        assert "pip" not in h.out("dpkg -l | awk '{print $2}'").split()
        with step("1. API: policy, rule, push datasource"):
            root = api(h, 1789, "GET", "/")
            assert root is not None
            create_policy(h, 1789)
            push_events(h, 1789, "compute-1")
            assert host_down_rows(h, 1789) == ["compute-1"]
        with step("1. systemctl restart, data back"):
            h.run("systemctl restart congress-server")
            assert h.out(["systemctl", "is-active", "congress-server"]).strip() == "active"
            assert host_down_rows(h, 1789) == ["compute-1"]
        # the autopkgtest of the package does the same through its own script
        h.copy_in(os.path.join(ROOT, "packaging/debian/tests/server-api"), "/root/server-api")
        h.run("sh /root/server-api")
        # each log line names the node; SIGHUP reloads; SIGTERM (stop) drains
        log_lines = journal(h, "congress-server", 200)
        assert "[node=srv]" in log_lines
        h.run("systemctl reload congress-server")
        wait_for("reload logged", lambda: "configuration reloaded" in journal(h, "congress-server"),
                 20)
        h.run("systemctl stop congress-server")
        stopped = journal(h, "congress-server", 30)
        assert "API drained" in stopped and "node srv stopped" in stopped, stopped
        h.run("systemctl start congress-server")
        # the units of every package: hardened and clean
        apt_install(h, "congress-pe", "congress-dsd", "libxml2-utils")
        assert h.out(["systemctl", "is-enabled", "congress-dsd"], check=False).strip() \
            == "disabled"
        for unit in ("congress-server.service", "congress-pe@1.service",
                     "congress-dsd.service"):
            out = h.out(["systemd-analyze", "security", "--no-pager", unit])
            exposure = float(out.strip().splitlines()[-1].split("level for")[1]
                             .split(":")[1].split()[0])
            log(f"systemd-analyze security {unit}: {exposure}")
            TIMES[f"systemd-analyze security {unit} (exposure, not seconds)"] = exposure
            save_times()
            assert exposure <= 2.5, out
        verify = h.run("systemd-analyze verify /lib/systemd/system/congress-server.service "
                       "/lib/systemd/system/congress-pe@.service "
                       "/lib/systemd/system/congress-dsd.service", check=False)
        assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr
        # the OCF agent's meta-data is valid against the OCF DTD
        # (resource-agents, recommended by congress-dsd, ships the DTD)
        h.run("cd /root && OCF_ROOT=/usr/lib/ocf "
              "/usr/lib/ocf/resource.d/openstack/congress-datasource meta-data > md.xml && "
              "xmllint --noout --dtdvalid /usr/share/resource-agents/ra-api-1.dtd md.xml")
        with step("1. OCF agent: exit codes, TERM then KILL"):
            check_ocf_agent(h)


FAKE_DSD = """#!/usr/bin/python3
# A datasource node that ignores SIGTERM and reports the health in /root/fake-health.
import json, os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
status = sys.argv[sys.argv.index("--status-file") + 1]
while True:
    with open("/root/fake-health") as f:
        healthy = f.read().strip() == "ok"
    with open(status + ".tmp", "w") as f:
        json.dump({"healthy": healthy, "bus": healthy}, f)
    os.replace(status + ".tmp", status)
    time.sleep(1)
"""


def check_ocf_agent(h: Host) -> None:
    """The agent's exit codes and its TERM→KILL escalation, with a node that ignores TERM."""
    agent = "/usr/lib/ocf/resource.d/openstack/congress-datasource"
    h.write("/usr/local/bin/fake-dsd", FAKE_DSD, mode=0o755)
    h.write("/root/fake-health", "ok\n")
    h.run("chmod 755 /root && chmod 644 /root/fake-health")
    env = ("OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=fake "
           "OCF_RESKEY_binary=/usr/local/bin/fake-dsd OCF_RESKEY_CRM_meta_timeout=12000")

    def rc(action: str, extra: str = "") -> int:
        return h.run(f"env {env} {extra} {agent} {action}", check=False).returncode

    assert rc("monitor") == 7                            # not running
    assert rc("monitor", "OCF_RESKEY_config=/nonexistent") == 7   # a probe without config
    assert rc("validate-all", "OCF_RESKEY_config=/nonexistent") == 5
    assert rc("stop") == 0                               # stopping a stopped resource
    assert rc("start") == 0
    assert rc("start") == 0                              # already running
    assert rc("monitor") == 0
    h.write("/root/fake-health", "bad\n")
    wait_for("monitor sees the node unhealthy", lambda: rc("monitor") == 1, 10)
    h.write("/root/fake-health", "ok\n")
    wait_for("healthy again", lambda: rc("monitor") == 0, 10)
    t0 = time.monotonic()
    assert rc("stop") == 0                               # TERM ignored: KILL 5 s before timeout
    took = time.monotonic() - t0
    assert 6 <= took < 12, took
    assert rc("monitor") == 7
    assert h.run("pgrep -f fake-dsd", check=False).returncode == 1
    TIMES["1. OCF agent stop of a node ignoring SIGTERM (12 s timeout)"] = round(took, 1)


# ----------------------------------------------------------------------------- 2
def test_pe_pair(debs):
    with Lab("pkgpe") as lab:
        h = lab.add_host("pe", ro_binds=[f"{DEBS}:/debs"])
        with step("2. apt install mariadb-server rabbitmq-server congress-pe"):
            apt_setup(h, "/debs")
            install_db_and_broker(h, remote=False)
            apt_install(h, "congress-pe")
        configure_cluster(h, "127.0.0.1")
        h.run(DB_UPGRADE)
        # instance 2 gets its own file: another node id
        h.write("/etc/congress/congress-pe@2.conf", "[DEFAULT]\nnode_id = second-pe\n")
        with step("2. systemctl start congress-pe@1 congress-pe@2 (returns when ready)"):
            h.run("systemctl start congress-pe@1 congress-pe@2", timeout=300)
        for port in (1790, 1791):
            assert api(h, port, "GET", "/") is not None
        assert "[node=pe-pe1]" in journal(h, "congress-pe@1")
        assert "[node=second-pe]" in journal(h, "congress-pe@2")
        create_policy(h, 1790, datasource=False)   # (no datasource node on this host)
        # the two engines share the policy through the database and the bus
        wait_for("policy on pe@2", lambda: "checks" in json.dumps(
            api(h, 1791, "GET", "/v1/policies")), 30)
        with step("2. kill -9 congress-pe@1 → restarted by systemd, answering"):
            before = main_pid(h, "congress-pe@1")
            h.run(["kill", "-9", str(before)])
            wait_for("congress-pe@1 restarted", lambda: (
                h.out(["systemctl", "is-active", "congress-pe@1"], check=False).strip()
                == "active" and main_pid(h, "congress-pe@1") not in (0, before)), 90)
            assert api(h, 1790, "GET", "/") is not None
        restarts = h.out(["systemctl", "show", "-P", "NRestarts", "congress-pe@1"]).strip()
        assert restarts == "1", restarts
        assert "checks" in json.dumps(api(h, 1790, "GET", "/v1/policies"))


# ----------------------------------------------------------------------------- 3
def test_upgrade_and_purge(debs):
    with Lab("pkgupg") as lab:
        h = lab.add_host("upg", ro_binds=[f"{DEBS}:/debs", f"{PREV}:/debs-prev"])
        with step(f"3. apt install congress-server {PREV_VERSION}"):
            apt_setup(h, "/debs-prev")
            apt_install(h, "congress-server")
        assert h.out(["dpkg-query", "-W", "-f", "${Version}", "congress-server"]) == PREV_VERSION
        create_policy(h, 1789)
        push_events(h, 1789, "compute-7")
        # an operator's edit of the conffile
        h.run("sed -i 's/^#api_threads = 16$/api_threads = 12/' /etc/congress/congress.conf")
        assert "\napi_threads = 12\n" in h.read("/etc/congress/congress.conf")
        old_pid = main_pid(h, "congress-server")
        with step("3. upgrade to the current version (apt-get install)"):
            apt_setup(h, "/debs")
            apt_install(h, "congress-server")
        version = h.out(["dpkg-query", "-W", "-f", "${Version}", "congress-server"])
        assert version != PREV_VERSION and version.startswith("0.1"), version
        assert "\napi_threads = 12\n" in h.read("/etc/congress/congress.conf")
        assert main_pid(h, "congress-server") not in (0, old_pid)   # restarted on new code
        assert host_down_rows(h, 1789) == ["compute-7"]
        assert "checks" in json.dumps(api(h, 1789, "GET", "/v1/policies"))
        # configuring with an unreachable database: a clear message, not a failed install
        h.run("sed -i 's|^#connection = sqlite:.*|connection = "
              "mysql+pymysql://congress:x@127.0.0.1:9/congress|' /etc/congress/congress.conf")
        with step("3. dpkg-reconfigure congress-common with the database unreachable"):
            out = h.run("dpkg-reconfigure -fnoninteractive congress-common 2>&1", timeout=300)
        assert out.returncode == 0
        assert "database migration SKIPPED" in out.stdout, out.stdout
        assert "congress-db-manage --config-file /etc/congress/congress.conf upgrade head" \
            in out.stdout, out.stdout
        with step("3. apt purge"):
            h.run("apt-get purge -y -qq congress-server congress-common python3-congress",
                  timeout=600)
        procs = h.out("ps -eo user=,args= | grep -v grep | grep congress || true").strip()
        assert procs == "", procs
        for path in ("/etc/congress", "/var/lib/congress", "/var/log/congress",
                     "/lib/systemd/system/congress-server.service", "/usr/bin/congress-server"):
            assert h.run(["test", "-e", path], check=False).returncode != 0, f"{path} left"
        # the system user stays (Debian policy): files elsewhere may belong to it
        assert h.run(["getent", "passwd", "congress"], check=False).returncode == 0


# ----------------------------------------------------------------------------- 4
PRIMITIVE = """<primitive id="dsd" class="ocf" provider="openstack" type="congress-datasource">
  <instance_attributes id="dsd-params">
    <nvpair id="dsd-config" name="config" value="/etc/congress/congress.conf"/>
    <nvpair id="dsd-node" name="node_id" value="datasource-node"/>
  </instance_attributes>
  <operations>
    <op id="dsd-start" name="start" interval="0s" timeout="120s"/>
    <op id="dsd-stop" name="stop" interval="0s" timeout="60s"/>
    <op id="dsd-monitor" name="monitor" interval="5s" timeout="20s"/>
  </operations>
</primitive>"""


def corosync_conf(nodes: list[Host]) -> str:
    members = "".join(
        f"    node {{\n        ring0_addr: {n.ip}\n        name: {n.name}\n"
        f"        nodeid: {i}\n    }}\n" for i, n in enumerate(nodes, 1))
    return ("totem {\n    version: 2\n    cluster_name: congress\n    transport: knet\n"
            "    crypto_cipher: none\n    crypto_hash: none\n}\n"
            f"nodelist {{\n{members}}}\n"
            "quorum {\n    provider: corosync_votequorum\n    two_node: 1\n}\n"
            "logging {\n    to_syslog: yes\n}\n")


def dsd_host(nodes: list[Host]) -> str | None:
    out = nodes[0].out(["crm_resource", "--resource", "dsd", "--locate"], check=False)
    for n in nodes:
        if f"running on: {n.name}" in out:
            return n.name
    return None


_STARTED = re.compile(r"\bdsd\s+\(ocf:openstack:congress-datasource\):\s+Started\s+(\S+)")


def dsd_started(nodes: list[Host]) -> str | None:
    """The host the dsd primitive has *finished* starting on (``crm_resource --locate``
    names a host as soon as a start is in progress there), else None."""
    m = _STARTED.search(nodes[0].out(["crm_mon", "-1", "-r"], check=False))
    return m.group(1) if m and m.group(1) in {n.name for n in nodes} else None


def host_diagnostics(nodes: list[Host], commands: list[list[str]]) -> str:
    """The output of ``commands`` on each host (for a failed step: never raises)."""
    out = []
    for h in nodes:
        for cmd in commands:
            try:
                text = h.out(cmd, check=False, timeout=60)
            except Exception as e:  # noqa: BLE001 (diagnostics only: never hide the failure)
                text = f"({type(e).__name__}: {e})"
            out.append(f"--- {h.name}: {' '.join(cmd)}\n{text}")
    return "\n".join(out)


def failover_diagnostics(nodes: list[Host]) -> str:
    """The cluster's state, fail counts and recent logs of each host (for a failed
    failover: a run of this test once timed out waiting for the resource to move)."""
    return host_diagnostics(nodes, [
        ["crm_mon", "-1", "-r", "-f"],
        ["ps", "-eo", "pid,user,etime,args"],
        ["ls", "-l", "--full-time", "/run/congress"],
        ["journalctl", "--no-pager", "-n", "60", "-u", "pacemaker"],
        ["tail", "-n", "150", "/var/log/congress/datasource-datasource-node.log"]])


# Debian's hook that tells maintainer scripts whether they may start a service (exit 101: no)
POLICY_RC_D = "/usr/sbin/policy-rc.d"
NO_CLUSTER_START = """#!/bin/sh
case "$1" in corosync*|pacemaker*) exit 101 ;; esac
exit 0
"""


def cluster_start_diagnostics(nodes: list[Host]) -> str:
    """What systemd, corosync and pacemaker said on each host (a start that did not finish)."""
    return host_diagnostics(nodes, [
        ["systemctl", "list-jobs", "--no-pager"],
        ["systemctl", "status", "--no-pager", "corosync", "pacemaker"],
        ["journalctl", "--no-pager", "-n", "80", "-u", "corosync", "-u", "pacemaker"]])


def _parallel(fn, hosts: list[Host]) -> None:
    errors: list[BaseException] = []

    def run(h: Host) -> None:
        try:
            fn(h)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=run, args=(h,)) for h in hosts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def test_pacemaker_failover(debs):
    with Lab("pkgha") as lab:
        with step("4. boot 3 hosts (db, n1, n2)"):
            db = lab.add_host("db")
            n1 = lab.add_host("n1", ro_binds=[f"{DEBS}:/debs"])
            n2 = lab.add_host("n2", ro_binds=[f"{DEBS}:/debs"])
        nodes = [n1, n2]

        def setup_node(h: Host) -> None:
            apt_setup(h, "/debs")
            # corosync and pacemaker start first with the cluster's configuration, not with
            # Debian's one-node default: restarting them while pacemaker was still joining the
            # default cluster once hung a CI run for the whole 300 s of the step
            h.write(POLICY_RC_D, NO_CLUSTER_START, mode=0o755)
            apt_install(h, "congress-pe", "congress-dsd", "pacemaker", "corosync",
                        "resource-agents")
            h.run(["rm", "-f", POLICY_RC_D])
            state = h.out(["systemctl", "is-active", "pacemaker"], check=False).strip()
            assert state != "active", f"pacemaker started at install: {state}"
            configure_cluster(h, "db")

        with step("4. install MariaDB+RabbitMQ on db; congress-pe, congress-dsd, corosync, "
                  "pacemaker on n1 and n2 (in parallel)"):
            _parallel(lambda h: install_db_and_broker(h, remote=True) if h is db
                      else setup_node(h), [db, n1, n2])
        n1.run(DB_UPGRADE)
        with step("4. start congress-pe@1 on n1 and n2"):
            _parallel(lambda h: h.run("systemctl start congress-pe@1", timeout=300), nodes)
        with step("4. ocf-tester on n1 (start/stop/monitor/probe/validate by the agent)"):
            tester = n1.run(["ocf-tester", "-n", "dsdtest",
                             "-o", "config=/etc/congress/congress.conf",
                             "-o", "node_id=datasource-node",
                             "/usr/lib/ocf/resource.d/openstack/congress-datasource"],
                            check=False, timeout=900)
            if tester.returncode != 0:
                log(failover_diagnostics([n1]))
            assert tester.returncode == 0, tester.stdout + tester.stderr
            assert "passed all tests" in tester.stdout, tester.stdout
        with step("4. corosync + pacemaker up on both, dsd primitive started"):
            key = os.urandom(256)        # what corosync-keygen writes: random bytes
            for h in nodes:
                h.write("/etc/corosync/authkey", key, mode=0o400)
                h.write("/etc/corosync/corosync.conf", corosync_conf(nodes))
            try:
                _parallel(lambda h: h.run("systemctl start corosync pacemaker", timeout=180),
                          nodes)
            except subprocess.TimeoutExpired:
                log(cluster_start_diagnostics(nodes))
                raise
            wait_for("2 nodes online", lambda: "Online: [ n1 n2 ]" in n1.out(
                ["crm_mon", "-1"], check=False), 120)
            n1.run("crm_attribute --type crm_config --name stonith-enabled --update false")
            n1.run(["cibadmin", "--create", "--scope", "resources", "--xml-text", PRIMITIVE])
            wait_for("dsd started", lambda: dsd_started(nodes), 180)
        create_policy(n1, 1790)
        active = {h.name: h for h in nodes}[dsd_started(nodes)]
        other = n2 if active is n1 else n1
        push_events(n1, 1790, "compute-1")
        assert host_down_rows(n1, 1790) == ["compute-1"]
        wait_for("pushed data on the other PE",
                 lambda: host_down_rows(n2, 1790) == ["compute-1"], 30)

        status_pid = "/run/congress/congress-datasource-dsd.pid"
        with step("4. kill -9 the datasource node → Pacemaker restarts it"):
            pid = int(active.out(["cat", status_pid]).strip())
            active.run(["kill", "-9", str(pid)])

            def restarted() -> bool:
                # started again (a start finished), by a new process
                host = dsd_started(nodes)
                if host is None:
                    return False
                h = {n.name: n for n in nodes}[host]
                return h is not active or h.out(["cat", status_pid], check=False).strip() \
                    not in ("", str(pid))
            wait_for("dsd restarted", restarted, 120)
            failcount = n1.out(["crm_failcount", "--query", "-r", "dsd", "-N", active.name],
                               check=False)
            assert "value=1" in failcount or "value=INFINITY" in failcount, failcount
        active = {h.name: h for h in nodes}[dsd_started(nodes)]
        other = n2 if active is n1 else n1
        with step("4. stop pacemaker on the active host → dsd on the other, data back (API)"):
            t0 = time.monotonic()
            active.run("systemctl stop pacemaker", timeout=300)
            try:
                wait_for(f"dsd on {other.name}", lambda: dsd_host([other]) == other.name, 60)
            except AssertionError:
                log(failover_diagnostics(nodes))     # what Pacemaker and the node said
                raise
            # the datasource's own rows are read from the datasource node itself: the new one
            # has the data the old one persisted
            wait_for("pushed data back on the new datasource node", lambda: "compute-1" in
                     json.dumps(api(other, 1790, "GET",
                                    "/v1/data-sources/doctor/tables/events/rows")), 60)
            took = time.monotonic() - t0
        assert host_down_rows(other, 1790) == ["compute-1"]
        # and it takes new pushes (PUT replaces the table), seen by both policy engines
        push_events(other, 1790, "compute-2")
        assert host_down_rows(other, 1790) == ["compute-2"]
        wait_for("new push on the first PE", lambda: host_down_rows(active, 1790)
                 == ["compute-2"], 30)
        TIMES["4. failover: pacemaker stopped → pushed data back (s)"] = round(took, 1)
        save_times()
        assert took <= 60, f"data back after {took:.0f} s"
        assert "node datasource-node" in other.read(
            "/var/log/congress/datasource-datasource-node.log")
