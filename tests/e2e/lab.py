"""Lab hosts: clean Debian 12 machines booted with ``systemd-nspawn --boot`` (systemd as PID 1).

A :class:`Lab` is a private bridge (``10.213.X.0/24``, NAT to the outside) with hosts on it. Each
:class:`Host` is an overlay of one cached ``debootstrap`` root (minbase + systemd), its own network
namespace with one veth on the bridge, and a booted ``systemd-nspawn`` container. Commands run
inside through ``nsenter`` into the container's namespaces. Everything the lab adds to this
machine (bridge, veths, namespaces, NAT rule, ``ip_forward``, a higher inotify instance limit,
overlay mounts) is removed by
:meth:`Lab.down`; labs whose owner died are swept by the next one.

The hosts reach the outside like this machine does: they get its apt sources, resolver, CA
certificates and pip configuration (the plumbing of this network, not an install step).

Command line (what molecule and scripts use; state persists between calls)::

    python -m tests.e2e.lab up NAME HOST[=IPSUFFIX] ...   # boot hosts (prints NAME HOST IP PID)
    python -m tests.e2e.lab exec NAME HOST -- CMD ...     # run a command inside a host
    python -m tests.e2e.lab poweroff NAME HOST [--kill]   # shut a host down (or pull the plug)
    python -m tests.e2e.lab start NAME HOST               # boot a powered-off host again
    python -m tests.e2e.lab down NAME                     # stop hosts, remove what was added
    python -m tests.e2e.lab base                          # only build the cached root

Needs root, ``debootstrap``, ``systemd-nspawn`` (systemd-container), ``iproute2`` and
``iptables``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

CACHE = os.environ.get("CONGRESS_LAB_CACHE", "/var/cache/congress-lab")
WORK = os.environ.get("CONGRESS_LAB_WORK", "/var/tmp/congress-lab")
MIRROR = os.environ.get("CONGRESS_LAB_MIRROR", "http://deb.debian.org/debian")
SUITE = "bookworm"
BASE_PACKAGES = ("systemd", "systemd-sysv", "dbus")
HOST_TOOLS = {"debootstrap": "debootstrap", "systemd-nspawn": "systemd-container",
              "iptables": "iptables", "ip": "iproute2"}
# CONGRESS_LAB_APT_CACHE=DIR (opt-in): a shared cache of the .deb files apt downloads. A new
# host starts with DIR's files hard-linked into its /var/cache/apt/archives (apt uses a file
# there when its size and hashes match the index, and downloads the others); ``down`` links the
# files the hosts downloaded back into DIR.
APT_CACHE = os.environ.get("CONGRESS_LAB_APT_CACHE", "")
APT_ARCHIVES = "var/cache/apt/archives"
INOTIFY_INSTANCES = "/proc/sys/fs/inotify/max_user_instances"
MIN_INOTIFY_INSTANCES = 1024
_NAME = re.compile(r"^[a-z][a-z0-9]{0,7}$")


def log(msg: str) -> None:
    print(f"[lab] {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


def _run(cmd: Sequence[str], *, check: bool = True, **kw: Any) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), check=check, text=True, capture_output=True, **kw)


def missing_tools() -> list[str]:
    """Debian packages this machine lacks for the lab (empty when it can run one)."""
    return sorted({pkg for tool, pkg in HOST_TOOLS.items() if not shutil.which(tool)})


@contextlib.contextmanager
def _locked(path: str) -> Iterator[None]:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def ensure_base() -> str:
    """The cached Debian 12 root (minbase + systemd), built once with debootstrap (~1.5 min)."""
    root = os.path.join(CACHE, f"{SUITE}-base")
    stamp = os.path.join(root, ".congress-lab-complete")
    if os.path.exists(stamp):
        return root
    with _locked(os.path.join(CACHE, ".base.lock")):
        if os.path.exists(stamp):
            return root
        tmp = root + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
        log(f"debootstrap {SUITE} (minbase + {', '.join(BASE_PACKAGES)}) into {root}")
        t0 = time.monotonic()
        proc = subprocess.run(["debootstrap", "--variant=minbase",
                               "--include=" + ",".join(BASE_PACKAGES), SUITE, tmp, MIRROR],
                              text=True, capture_output=True)
        if proc.returncode != 0:
            raise RuntimeError(f"debootstrap failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
        # a neutral identity: each host gets its own hostname and machine id at boot
        for path in ("etc/hostname", "etc/machine-id"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(tmp, path))
        for path in ("etc/machine-id", ".congress-lab-complete"):
            with open(os.path.join(tmp, path), "w"):
                pass
        os.rename(tmp, root)
        log(f"base root ready in {time.monotonic() - t0:.0f} s")
    return root


# --------------------------------------------------------------------------- hosts
class Host:
    """One booted container; :meth:`run` executes inside it."""

    def __init__(self, lab: Lab, name: str, ip: str, *, leader: int = 0, nspawn: int = 0):
        self.lab = lab
        self.name = name
        self.ip = ip
        self.leader = leader
        self.nspawn = nspawn
        self.dir = os.path.join(lab.dir, name)
        self.root = os.path.join(self.dir, "root")
        self.console = os.path.join(self.dir, "console.log")
        self.netns = f"{lab.name}-{name}"

    # ------------------------------------------------------------------ running commands
    def run(self, cmd: str | Sequence[str], *, check: bool = True, timeout: float = 1800,
            input: str | None = None, env: dict[str, str] | None = None,
            stream: bool = False) -> subprocess.CompletedProcess:
        """Run ``cmd`` (a shell script if a string) as root inside the host.

        ``stream=True`` passes the output through to ours (long steps show progress)."""
        argv = ["bash", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        base_env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb",
                    "DEBIAN_FRONTEND": "noninteractive"}
        base_env.update(env or {})
        full = ["nsenter", "-t", str(self.leader), "-a", "--",
                "env", "-i", *(f"{k}={v}" for k, v in base_env.items()), *argv]
        if stream:
            proc = subprocess.run(full, text=True, input=input, timeout=timeout)
        else:
            proc = subprocess.run(full, text=True, input=input, timeout=timeout,
                                  capture_output=True)
        if check and proc.returncode != 0:
            raise subprocess.CalledProcessError(proc.returncode, argv, proc.stdout, proc.stderr)
        return proc

    def out(self, cmd: str | Sequence[str], **kw: Any) -> str:
        return self.run(cmd, **kw).stdout

    def write(self, path: str, text: str | bytes, mode: int = 0o644) -> None:
        """Write a file inside the host (through its root on this machine)."""
        target = self._path(path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(text.encode() if isinstance(text, str) else text)
        os.chmod(target, mode)

    def read(self, path: str) -> str:
        with open(self._path(path)) as f:
            return f.read()

    def copy_in(self, src: str, dst: str) -> None:
        target = self._path(dst)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.isdir(src):
            shutil.copytree(src, target, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(src, target)

    def _path(self, path: str) -> str:
        if not path.startswith("/") or ".." in path.split("/"):
            raise ValueError(f"absolute path without '..' expected: {path}")
        return os.path.join(self.root, path.lstrip("/"))

    def wait_running(self, timeout: float | None = None) -> str:
        """Wait until systemd inside reports running/degraded; returns that state.

        The default timeout is ``CONGRESS_LAB_BOOT_TIMEOUT`` seconds (120)."""
        if timeout is None:
            timeout = float(os.environ.get("CONGRESS_LAB_BOOT_TIMEOUT", "120"))
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            # short waits in a loop: one long --wait has been seen to hang past a finished boot
            try:
                proc = self.run(["systemctl", "is-system-running", "--wait"], check=False,
                                timeout=max(1.0, min(10.0, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                continue
            state = proc.stdout.strip()
            if state in ("running", "degraded"):
                return state
            time.sleep(0.5)
        jobs = self.run("systemctl list-jobs --no-pager; journalctl -b --no-pager -n 40",
                        check=False, timeout=10)
        raise TimeoutError(f"host {self.name}: systemd not up (state {state!r}); jobs and "
                           f"journal:\n{jobs.stdout}see {self.console}")

    def wait_http(self, url: str, timeout: float = 120, expect: str = "") -> str:
        """Poll ``url`` from inside the host with Python's urllib until it answers 2xx."""
        script = ("import sys,urllib.request\n"
                  "print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())")
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            proc = self.run(["python3", "-c", script, url], check=False, timeout=30)
            if proc.returncode == 0 and expect in proc.stdout:
                return proc.stdout
            last = proc.stderr.strip().splitlines()[-1:] or proc.stdout
            time.sleep(1)
        raise TimeoutError(f"host {self.name}: {url} did not answer in {timeout:.0f} s: {last}")

    def alive(self) -> bool:
        return bool(self.leader) and os.path.exists(f"/proc/{self.leader}")

    # ------------------------------------------------------------------ lifecycle
    def boot(self, base: str, binds: Sequence[str] = (), ro_binds: Sequence[str] = ()) -> None:
        for sub in ("upper", "work", "root"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        # the upper directory's mode becomes that of the host's / : with a caller's umask of 077
        # (Ansible runs commands so) / was 0700 and every non-root daemon failed; dbus-daemon's
        # start hung the boot
        os.chmod(os.path.join(self.dir, "upper"), 0o755)
        if not os.path.ismount(self.root):  # mounted still when a powered-off host boots again
            cache = self.lab.added.get("apt_cache")
            if cache:
                _link_debs(cache, os.path.join(self.dir, "upper", APT_ARCHIVES))
            _run(["mount", "-t", "overlay", "overlay", "-o",
                  f"lowerdir={base},upperdir={self.dir}/upper,workdir={self.dir}/work", self.root])
        self._network_env()
        self.write("/etc/hostname", self.name + "\n")
        self.lab.write_hosts()
        argv = ["systemd-nspawn", "-D", self.root, "--boot", "--register=no", "--keep-unit",
                f"--network-namespace-path=/run/netns/{self.netns}", f"--machine={self.name}",
                f"--hostname={self.name}", "--resolv-conf=copy-host", "--timezone=off",
                "--console=read-only", "-q", *(f"--bind={b}" for b in binds),
                *(f"--bind-ro={b}" for b in ro_binds)]
        with open(self.console, "ab") as console:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=console,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.nspawn = proc.pid
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not self.leader:
            if proc.poll() is not None:
                raise RuntimeError(f"systemd-nspawn for {self.name} exited {proc.returncode}; "
                                   f"see {self.console}")
            with contextlib.suppress(OSError):
                for child in _read(f"/proc/{proc.pid}/task/{proc.pid}/children").split():
                    if _read(f"/proc/{child}/comm").strip() == "systemd":
                        self.leader = int(child)
            time.sleep(0.1)
        if not self.leader:
            raise RuntimeError(f"no systemd in the container of {self.name}; see {self.console}")
        self.wait_running()

    def _network_env(self) -> None:
        """This machine's apt sources, CA certificates and pip configuration."""
        sources = [p for p in glob.glob("/etc/apt/sources.list.d/*.sources")
                   if os.path.isfile(p)]
        if sources:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path("/etc/apt/sources.list"))
            for src in sources:
                self.copy_in(src, src)
        for src in glob.glob("/usr/local/share/ca-certificates/*.crt"):
            self.copy_in(src, src)
        if os.path.exists("/etc/ssl/certs/ca-certificates.crt"):
            self.copy_in("/etc/ssl/certs/ca-certificates.crt",
                         "/etc/ssl/certs/ca-certificates.crt")
        for src in ("/etc/pip.conf", *glob.glob("/etc/xdg/pip/*")):
            if os.path.isfile(src):
                self.copy_in(src, src)

    def poweroff(self, timeout: float = 30) -> None:
        """Clean shutdown (SIGRTMIN+4 to systemd), then SIGKILL of the container."""
        if self.nspawn and os.path.exists(f"/proc/{self.nspawn}"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.leader, signal.SIGRTMIN + 4)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and _pid_alive(self.nspawn):
                time.sleep(0.2)
            if _pid_alive(self.nspawn):
                self.kill()
        self.leader = 0

    def kill(self) -> None:
        """Pull the plug: SIGKILL the container's init and its nspawn."""
        for pid in (self.leader, self.nspawn):
            with contextlib.suppress(ProcessLookupError, TypeError):
                if pid:
                    os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _pid_alive(self.nspawn):
            time.sleep(0.1)
        self.leader = 0

    def unmount(self) -> None:
        if os.path.ismount(self.root):
            _run(["umount", "-l", self.root], check=False)

    def state(self) -> dict[str, Any]:
        return {"ip": self.ip, "leader": self.leader, "nspawn": self.nspawn}


def _link_debs(src_dir: str, dst_dir: str) -> int:
    """Hard-link (or copy, across file systems) the .deb files of ``src_dir`` that ``dst_dir``
    lacks into it, each under a temporary name renamed into place; returns how many."""
    try:
        names = sorted(n for n in os.listdir(src_dir) if n.endswith(".deb"))
    except FileNotFoundError:
        return 0
    os.makedirs(dst_dir, exist_ok=True)
    added = 0
    for name in names:
        dst = os.path.join(dst_dir, name)
        if os.path.exists(dst):
            continue
        src, tmp = os.path.join(src_dir, name), f"{dst}.{os.getpid()}.part"
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
        added += 1
    return added


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _pid_alive(pid: int) -> bool:
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


# --------------------------------------------------------------------------- the lab
class Lab:
    """A private bridge with NAT and the hosts on it. Use as a context manager, or
    :meth:`load` a lab made by another process (state in ``WORK/NAME/state.json``)."""

    def __init__(self, name: str, *, owner: int | None = None) -> None:
        if not _NAME.match(name):
            raise ValueError(f"lab name must match {_NAME.pattern}: {name!r}")
        self.name = name
        self.dir = os.path.join(WORK, name)
        self.bridge = f"clab-{name}"
        self.subnet = ""
        self.owner = os.getpid() if owner is None else owner
        self.hosts: dict[str, Host] = {}
        self.added: dict[str, Any] = {}

    # ------------------------------------------------------------------ state
    @property
    def gateway(self) -> str:
        return self.subnet.rsplit(".", 1)[0] + ".1"

    def _save(self) -> None:
        os.makedirs(self.dir, exist_ok=True)
        state = {"subnet": self.subnet, "owner": self.owner, "added": self.added,
                 "hosts": {n: h.state() for n, h in self.hosts.items()}}
        tmp = os.path.join(self.dir, "state.json.tmp")
        with open(tmp, "w") as f:
            json.dump(state, f, indent=1)
        os.replace(tmp, os.path.join(self.dir, "state.json"))

    @classmethod
    def load(cls, name: str) -> Lab:
        lab = cls(name, owner=0)
        with open(os.path.join(lab.dir, "state.json")) as f:
            state = json.load(f)
        lab.subnet, lab.owner, lab.added = state["subnet"], state["owner"], state["added"]
        for hname, h in state["hosts"].items():
            lab.hosts[hname] = Host(lab, hname, h["ip"], leader=h["leader"],
                                    nspawn=h["nspawn"])
        return lab

    # ------------------------------------------------------------------ network
    def up(self) -> Lab:
        missing = missing_tools()
        if missing:
            raise RuntimeError("the lab needs these Debian packages: " + " ".join(missing))
        sweep_stale()
        with _locked(os.path.join(WORK, ".net.lock")):
            if os.path.exists(os.path.join(self.dir, "state.json")):
                raise RuntimeError(f"lab {self.name} exists already (down it first)")
            used = _run(["ip", "-4", "-o", "addr"]).stdout
            for x in range(100, 251):
                if f" 10.213.{x}." not in used:
                    self.subnet = f"10.213.{x}.0/24"
                    break
            else:
                raise RuntimeError("no free 10.213.X.0/24 subnet for the lab")
            _run(["ip", "link", "add", self.bridge, "type", "bridge"])
            self.added["bridge"] = self.bridge
            self._save()
            _run(["ip", "addr", "add", f"{self.gateway}/24", "dev", self.bridge])
            _run(["ip", "link", "set", self.bridge, "up"])
        with open("/proc/sys/net/ipv4/ip_forward") as f:
            forward = f.read().strip()
        if forward != "1":
            with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
                f.write("1")
            self.added["ip_forward_was"] = forward
        # every booted systemd, journald, dbus and logind takes inotify instances; root's default
        # 128 runs out with a dozen hosts and then dbus-daemon hangs the boot
        with open(INOTIFY_INSTANCES) as f:
            instances = f.read().strip()
        if int(instances) < MIN_INOTIFY_INSTANCES:
            with open(INOTIFY_INSTANCES, "w") as f:
                f.write(str(MIN_INOTIFY_INSTANCES))
            self.added["inotify_instances_was"] = instances
        rule = ["POSTROUTING", "-s", self.subnet, "!", "-o", self.bridge, "-j", "MASQUERADE"]
        _run(["iptables", "-t", "nat", "-A", *rule])
        self.added["nat"] = rule
        fwd = ["FORWARD", "-i", self.bridge, "-j", "ACCEPT"]
        _run(["iptables", "-I", *fwd])
        back = ["FORWARD", "-o", self.bridge, "-j", "ACCEPT"]
        _run(["iptables", "-I", *back])
        self.added["forward"] = [fwd, back]
        self._save()
        return self

    def add_host(self, name: str, *, suffix: int | None = None, binds: Sequence[str] = (),
                 ro_binds: Sequence[str] = ()) -> Host:
        """Boot a new clean host named ``name`` at ``.suffix`` (default: next free);
        ``binds``/``ro_binds`` are ``SRC[:DST]`` directories of this machine mounted inside."""
        if not _NAME.match(name):
            raise ValueError(f"host name must match {_NAME.pattern}: {name!r}")
        base = ensure_base()
        if APT_CACHE and not self.added.get("apt_cache"):
            os.makedirs(APT_CACHE, exist_ok=True)
            self.added["apt_cache"] = os.path.abspath(APT_CACHE)
        taken = {int(h.ip.rsplit(".", 1)[1]) for h in self.hosts.values()}
        suffix = suffix or next(i for i in range(10, 250) if i not in taken)
        host = Host(self, name, self.subnet.rsplit(".", 1)[0] + f".{suffix}")
        self.hosts[name] = host
        self._save()
        veth = self._veth(len(self.hosts) - 1)
        _run(["ip", "netns", "add", host.netns])
        _run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns",
              host.netns])
        _run(["ip", "link", "set", veth, "master", self.bridge, "up"])
        for cmd in (["addr", "add", f"{host.ip}/24", "dev", "eth0"],
                    ["link", "set", "eth0", "up"], ["link", "set", "lo", "up"],
                    ["route", "add", "default", "via", self.gateway]):
            _run(["ip", "-n", host.netns, *cmd])
        t0 = time.monotonic()
        # a boot seldom hangs (dbus-daemon's inotify set-up refused on this sandboxed kernel);
        # CONGRESS_LAB_BOOT_ATTEMPTS > 1 boots such a host again from a fresh overlay
        attempts = max(1, int(os.environ.get("CONGRESS_LAB_BOOT_ATTEMPTS", "1")))
        for attempt in range(1, attempts + 1):
            try:
                host.boot(base, binds, ro_binds)
                break
            except TimeoutError as exc:
                if attempt == attempts:
                    raise
                log(f"host {name}: boot attempt {attempt} hung, booting again "
                    f"({str(exc).splitlines()[0]})")
                host.kill()
                host.unmount()
                for sub in ("upper", "work"):
                    shutil.rmtree(os.path.join(host.dir, sub), ignore_errors=True)
        self._save()
        log(f"host {name} ({host.ip}) booted in {time.monotonic() - t0:.1f} s")
        return host

    def _veth(self, index: int) -> str:
        """Name of the bridge side of the veth of the ``index``-th host."""
        return f"vl{self.name[:6]}{index:02d}"[:15]

    def write_hosts(self) -> None:
        """/etc/hosts of every host names all hosts of the lab."""
        text = "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n" + "".join(
            f"{h.ip} {h.name}\n" for h in self.hosts.values())
        for h in self.hosts.values():
            if os.path.ismount(h.root):
                h.write("/etc/hosts", text)

    def down(self) -> None:
        """Stop every host and remove all that the lab added to this machine."""
        for host in self.hosts.values():
            host.poweroff(timeout=20)
            host.unmount()
            _run(["ip", "netns", "del", host.netns], check=False)
        # the kernel frees a deleted namespace (and the veth in it) asynchronously: wait, so
        # that a lab of the same name made right after can add its veths
        veths = {self._veth(i) for i in range(len(self.hosts))}
        deadline = time.monotonic() + 15
        while veths and time.monotonic() < deadline:
            links = _run(["ip", "-o", "link", "show"], check=False).stdout
            veths = {v for v in veths if f" {v}@" in links or f" {v}:" in links}
            if veths:
                time.sleep(0.3)
        for veth in veths:
            _run(["ip", "link", "del", veth], check=False)
        nat = self.added.get("nat")
        if nat:
            _run(["iptables", "-t", "nat", "-D", *nat], check=False)
        for rule in self.added.get("forward", []):
            _run(["iptables", "-D", *rule], check=False)
        if self.added.get("bridge"):
            _run(["ip", "link", "del", self.added["bridge"]], check=False)
        was = self.added.get("ip_forward_was")
        if was is not None and not _other_labs(self.name):
            with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
                f.write(was)
        was = self.added.get("inotify_instances_was")
        if was is not None and not _other_labs(self.name):
            with open(INOTIFY_INSTANCES, "w") as f:
                f.write(was)
        cache = self.added.get("apt_cache")
        if cache:
            added = sum(_link_debs(os.path.join(h.dir, "upper", APT_ARCHIVES), cache)
                        for h in self.hosts.values())
            log(f"apt cache {cache}: {added} packages added")
        shutil.rmtree(self.dir, ignore_errors=True)
        self.hosts.clear()

    def __enter__(self) -> Lab:
        try:
            return self.up()
        except BaseException:
            self.down()
            raise

    def __exit__(self, *exc: Any) -> None:
        if os.environ.get("CONGRESS_LAB_KEEP"):
            log(f"CONGRESS_LAB_KEEP set: lab {self.name} left up ({self.dir})")
            return
        self.down()


def _other_labs(name: str) -> list[str]:
    return [os.path.basename(os.path.dirname(p))
            for p in glob.glob(os.path.join(WORK, "*", "state.json"))
            if os.path.basename(os.path.dirname(p)) != name]


def sweep_stale() -> None:
    """Remove labs whose owning process is gone (a test run that was killed)."""
    for name in _other_labs(""):
        try:
            lab = Lab.load(name)
        except (OSError, ValueError, KeyError):
            continue
        if lab.owner and not _pid_alive(lab.owner):
            log(f"removing stale lab {name} (owner {lab.owner} is gone)")
            lab.down()


# --------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.e2e.lab",
        description="Boot clean Debian 12 hosts (systemd-nspawn, systemd as PID 1) on a "
                    "private bridge, run commands in them, and remove them.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  python -m tests.e2e.lab up demo db pe1 pe2\n"
               "  python -m tests.e2e.lab exec demo pe1 -- systemctl status\n"
               "  python -m tests.e2e.lab down demo\n")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="create lab NAME with these hosts (HOST or HOST=SUFFIX)")
    p_up.add_argument("name")
    p_up.add_argument("hosts", nargs="+")
    p_up.add_argument("--bind", action="append", default=[],
                      help="SRC[:DST] bind-mounted into every host (repeatable)")
    p_exec = sub.add_parser("exec", help="run a command inside a host")
    p_exec.add_argument("name")
    p_exec.add_argument("host")
    p_exec.add_argument("command", nargs=argparse.REMAINDER)
    p_off = sub.add_parser("poweroff", help="shut a host down (its disk stays; 'start' boots it)")
    p_off.add_argument("name")
    p_off.add_argument("host")
    p_off.add_argument("--kill", action="store_true",
                       help="pull the plug (SIGKILL) instead of a clean shutdown")
    p_start = sub.add_parser("start", help="boot a powered-off host again")
    p_start.add_argument("name")
    p_start.add_argument("host")
    p_down = sub.add_parser("down", help="stop the hosts of lab NAME and remove what it added")
    p_down.add_argument("name")
    sub.add_parser("base", help="build the cached Debian root only")
    sub.add_parser("list", help="list labs and their hosts")
    args = parser.parse_args(argv)
    os.umask(0o022)  # what the lab creates for its hosts is readable there whoever calls this
    if args.cmd == "base":
        print(ensure_base())
    elif args.cmd == "up":
        lab = Lab(args.name, owner=0)
        try:
            lab.up()
            for spec in args.hosts:
                hname, _, suffix = spec.partition("=")
                lab.add_host(hname, suffix=int(suffix) if suffix else None, binds=args.bind)
        except BaseException:
            lab.down()
            raise
        for h in lab.hosts.values():
            print(lab.name, h.name, h.ip, h.leader)
    elif args.cmd == "exec":
        host = Lab.load(args.name).hosts[args.host]
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        return host.run(command, check=False, stream=True, timeout=7200).returncode
    elif args.cmd in ("poweroff", "start"):
        lab = Lab.load(args.name)
        host = lab.hosts[args.host]
        if args.cmd == "start":
            if host.alive():
                raise SystemExit(f"host {args.host} is running")
            host.boot(ensure_base())
        elif args.kill:
            host.kill()
        else:
            host.poweroff()
        lab._save()
        print(lab.name, host.name, host.ip, host.leader)
    elif args.cmd == "down":
        if os.path.exists(os.path.join(WORK, args.name, "state.json")):
            Lab.load(args.name).down()
    elif args.cmd == "list":
        for name in _other_labs(""):
            lab = Lab.load(name)
            for h in lab.hosts.values():
                print(name, h.name, h.ip, h.leader, "up" if h.alive() else "down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
