"""Fixtures of the datasource functional tests: MariaDB databases and a real Keystone.

Keystone (PyPI ``keystone``) lives in its own virtualenv ``.venv-keystone`` (its dependencies
clash with ours); ``scripts``-free: the fixture creates the venv with pip if it is missing. It
runs on SQLite under waitress (pure Python: nothing to compile, so a host without a C compiler
runs it too) on 127.0.0.1, bootstrapped with ``keystone-manage db_sync``,
``fernet_setup``, ``credential_setup`` and ``bootstrap``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.functional.harness import create_database, drop_database, ensure_mariadb

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
KEYSTONE_VENV = os.environ.get("CONGRESS_KEYSTONE_VENV", os.path.join(ROOT, ".venv-keystone"))
ADMIN_PASSWORD = "keystone-admin-pw"
# Keystone's WSGI module parses sys.argv with oslo.config at import, so the server's own
# arguments must be gone by then.
SERVE_KEYSTONE = """\
import sys
port = int(sys.argv[1])
sys.argv = ["keystone"]
import waitress
from keystone.wsgi.api import application
waitress.serve(application, host="127.0.0.1", port=port, threads=4)
"""


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    ensure_mariadb()
    name, url = create_database("congress_ds")
    yield url
    drop_database(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_keystone_venv() -> str:
    """The keystone virtualenv (created with pip from PyPI if missing)."""
    manage = os.path.join(KEYSTONE_VENV, "bin", "keystone-manage")
    serve = os.path.join(KEYSTONE_VENV, "bin", "waitress-serve")
    if os.path.exists(manage) and os.path.exists(serve):
        return KEYSTONE_VENV
    base = shutil.which("python3.11") or sys.executable
    subprocess.run([base, "-m", "venv", KEYSTONE_VENV], check=True, timeout=300)
    # --only-binary: a dependency that would need a C compiler fails here, loudly, instead of
    # passing on a machine that happens to have one
    subprocess.run([os.path.join(KEYSTONE_VENV, "bin", "pip"), "install", "-q",
                    "--only-binary", ":all:", "keystone", "waitress"], check=True, timeout=1800)
    return KEYSTONE_VENV


class Keystone:
    def __init__(self, workdir: str) -> None:
        self.venv = ensure_keystone_venv()
        self.workdir = workdir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v3"
        self.conf = os.path.join(workdir, "keystone.conf")
        self.proc: subprocess.Popen | None = None
        self._token: str | None = None
        with open(self.conf, "w") as f:
            f.write(f"""[DEFAULT]
log_file = {workdir}/keystone.log
[database]
connection = sqlite:///{workdir}/keystone.db
[token]
provider = fernet
[fernet_tokens]
key_repository = {workdir}/fernet-keys
[fernet_receipts]
key_repository = {workdir}/fernet-receipts
[credential]
key_repository = {workdir}/credential-keys
""")

    def manage(self, *commands: tuple[str, ...]) -> None:
        """Run keystone-manage commands (in parallel: they touch different things)."""
        procs = [(args, subprocess.Popen(
            [os.path.join(self.venv, "bin", "keystone-manage"), "--config-file", self.conf,
             *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
            for args in commands]
        for args, proc in procs:
            _, err = proc.communicate(timeout=300)
            if proc.returncode != 0:
                raise RuntimeError(f"keystone-manage {' '.join(args)} failed: {err[-3000:]}")

    def start(self) -> None:
        owner = ("--keystone-user", "root", "--keystone-group", "root")
        self.manage(("db_sync",), ("fernet_setup", *owner), ("credential_setup", *owner))
        self.manage(("bootstrap", "--bootstrap-password", ADMIN_PASSWORD,
                    "--bootstrap-admin-url", self.url, "--bootstrap-public-url", self.url,
                    "--bootstrap-internal-url", self.url, "--bootstrap-region-id",
                     "RegionOne"))
        env = {**os.environ, "OS_KEYSTONE_CONFIG_FILES": self.conf}
        with open(os.path.join(self.workdir, "waitress.log"), "ab") as log:
            self.proc = subprocess.Popen(
                [os.path.join(self.venv, "bin", "python"), "-c", SERVE_KEYSTONE, str(self.port)],
                env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"keystone did not start; see {self.workdir}/waitress.log")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    # --------------------------------------------------------------- admin API helpers
    def token(self) -> str:
        if self._token is not None:
            return self._token
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": ADMIN_PASSWORD}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
        r = requests.post(f"{self.url}/auth/tokens", json=body, timeout=30)
        r.raise_for_status()
        self._token = r.headers["X-Subject-Token"]
        return self._token

    def api(self, method: str, path: str, body: Any = None) -> Any:
        r = requests.request(method, f"{self.url}{path}", json=body, timeout=30,
                             headers={"X-Auth-Token": self.token()})
        r.raise_for_status()
        return r.json() if r.content else None


@pytest.fixture(scope="session")
def keystone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keystone]:
    ks = Keystone(str(tmp_path_factory.mktemp("keystone")))
    ks.start()
    yield ks
    ks.stop()
