# Connection plugin for the hosts of the Congress lab (tests/e2e/lab.py).
"""Run Ansible tasks inside a lab host through ``nsenter``.

A lab host is a ``systemd-nspawn --boot`` container in its own network namespace; the lab keeps
the PID of each host's systemd in ``WORK/LAB/state.json``. This plugin reads that PID when it
connects and enters all of the container's namespaces (mount, UTS, IPC, network, PID, cgroup)
for every command, so no SSH server, agent or ``machinectl`` is needed inside the host.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: congress_lab
short_description: run commands in a Congress lab host (systemd-nspawn) through nsenter
description:
  - Enters the namespaces of the systemd (PID 1) of a host booted by C(python3 -m tests.e2e.lab up)
    and runs the command there as root. Files are copied in and out through the same channel.
  - Needs root on the controller and the C(nsenter) tool (util-linux).
author: Congress developers
extends_documentation_fragment:
  - connection_pipelining
options:
  lab:
    description: Name of the lab (the NAME given to C(python3 -m tests.e2e.lab up NAME ...)).
    type: str
    required: true
    vars:
      - name: congress_lab_name
    env:
      - name: CONGRESS_LAB_NAME
  lab_host:
    description: >-
      Name of the host inside the lab, used when no lab host has the address ansible_host
      (looked up first, so that delegate_to works); defaults to the inventory host name.
    type: str
    vars:
      - name: congress_lab_host
      - name: inventory_hostname
  lab_work:
    description: Directory where the lab keeps its state (the lab's CONGRESS_LAB_WORK).
    type: str
    default: /var/tmp/congress-lab
    vars:
      - name: congress_lab_work
    env:
      - name: CONGRESS_LAB_WORK
"""

import json
import os
import shlex
import subprocess

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

display = Display()

_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "TERM": "dumb",
    "DEBIAN_FRONTEND": "noninteractive",
}


class Connection(ConnectionBase):
    """Commands and files go through ``nsenter -t PID1_OF_THE_HOST -a``."""

    transport = "congress_lab"
    has_pipelining = True
    default_user = "root"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._leader = 0
        self._lab_host = ""

    # ------------------------------------------------------------------ connecting
    def _find_leader(self) -> int:
        lab = self.get_option("lab")
        state_file = os.path.join(self.get_option("lab_work"), lab, "state.json")
        try:
            with open(state_file, encoding="utf-8") as f:
                state = json.load(f)
        except FileNotFoundError as exc:
            raise AnsibleConnectionFailure(
                f"lab {lab!r} does not exist ({state_file} missing): "
                f"boot it with 'python3 -m tests.e2e.lab up {lab} HOST ...'") from exc
        hosts = state.get("hosts", {})
        # by address first: with delegate_to, the address is the delegated host's while the
        # host name variables still name the original one
        addr = self._play_context.remote_addr
        by_addr = [name for name, h in hosts.items() if h.get("ip") == addr]
        host = by_addr[0] if by_addr else self.get_option("lab_host")
        self._lab_host = host
        if host not in hosts:
            raise AnsibleConnectionFailure(
                f"lab {lab!r} has no host {host!r} (hosts: {', '.join(sorted(hosts)) or 'none'})")
        leader = int(hosts[host].get("leader") or 0)
        if not leader or not os.path.exists(f"/proc/{leader}"):
            raise AnsibleConnectionFailure(f"lab host {host!r} of lab {lab!r} is not running")
        return leader

    def _connect(self):
        if not self._connected:
            self._leader = self._find_leader()
            display.vvv(f"CONGRESS_LAB: host {self._lab_host} is PID {self._leader}",
                        host=self._play_context.remote_addr)
            self._connected = True
        return self

    def _argv(self, argv: list[str]) -> list[str]:
        return ["nsenter", "-t", str(self._leader), "-a", "--", "env", "-i",
                *(f"{k}={v}" for k, v in _ENV.items()), *argv]

    def _run(self, argv: list[str], stdin: bytes | None = None) -> tuple[int, bytes, bytes]:
        proc = subprocess.run(self._argv(argv), input=stdin or b"", capture_output=True,
                              check=False)
        return proc.returncode, proc.stdout, proc.stderr

    # ------------------------------------------------------------------ the API
    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        self._connect()
        display.vvv(f"EXEC {cmd}", host=self._lab_host)
        # the command is a shell command line: run it with the host's /bin/sh
        return self._run(["/bin/sh", "-c", to_text(cmd, errors="surrogate_or_strict")],
                         stdin=in_data)

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        self._connect()
        display.vvv(f"PUT {in_path} TO {out_path}", host=self._lab_host)
        if not os.path.exists(to_bytes(in_path, errors="surrogate_or_strict")):
            raise AnsibleFileNotFound(f"file or module does not exist: {in_path}")
        with open(to_bytes(in_path, errors="surrogate_or_strict"), "rb") as f:
            data = f.read()
        rc, _, err = self._run(["/bin/sh", "-c", f"cat > {shlex.quote(out_path)}"], stdin=data)
        if rc != 0:
            raise AnsibleError(f"failed to write {out_path} in the lab host: {to_text(err)}")

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        self._connect()
        display.vvv(f"FETCH {in_path} TO {out_path}", host=self._lab_host)
        rc, out, err = self._run(["cat", "--", in_path])
        if rc != 0:
            raise AnsibleError(f"failed to read {in_path} in the lab host: {to_text(err)}")
        with open(to_bytes(out_path, errors="surrogate_or_strict"), "wb") as f:
            f.write(out)

    def reset(self):
        # the host may have been rebooted: look its PID 1 up again
        self.close()

    def close(self):
        self._connected = False
        self._leader = 0
