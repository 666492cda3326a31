"""Fixtures and helpers shared by the functional API tests (real ``congress-server`` processes).

* ``client_venv`` (session): the virtualenv with the unchanged ``python-congressclient`` made by
  ``scripts/client-venv.sh``;
* ``servers`` (module): a factory starting all-in-one servers in the module's temp dir, all
  stopped at the end of the module;
* :func:`assert_error`, :func:`snapshot`, :func:`unchanged`: checks of the error envelope and of
  "a rejected request changed nothing stored".
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.functional.harness import ROOT, CongressProcess, Response

CLIENT_VENV_SCRIPT = os.path.join(ROOT, "scripts", "client-venv.sh")

ENVELOPE_KEYS = {"message", "error_code", "error_data"}


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def client_venv() -> str:
    """Path of the virtualenv with python-openstackclient + python-congressclient 2.0.1."""
    proc = subprocess.run(["bash", CLIENT_VENV_SCRIPT], capture_output=True, text=True,
                          timeout=900, cwd=ROOT)
    if proc.returncode != 0:
        pytest.fail(f"scripts/client-venv.sh failed ({proc.returncode}):\n"
                    f"{proc.stderr[-4000:]}")
    venv = proc.stdout.strip().splitlines()[-1]
    assert os.path.isfile(os.path.join(venv, "bin", "openstack")), venv
    return venv


class ServerFactory:
    """Starts ``congress-server`` processes, each in its own directory; stops them all."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.procs: list[CongressProcess] = []

    def __call__(self, name: str = "aio", *, db_url: str | None = None,
                 extra: dict[str, dict[str, Any]] | None = None,
                 library: dict[str, str] | None = None, start: bool = True,
                 roles: tuple[str, ...] = ()) -> CongressProcess:
        """A server named ``name`` (its directory too); ``library`` = files written into its
        ``policy_library_path`` before it starts."""
        workdir = os.path.join(self.base, name)
        os.makedirs(os.path.join(workdir, "library"), exist_ok=True)
        for fname, text in (library or {}).items():
            with open(os.path.join(workdir, "library", fname), "w") as f:
                f.write(text)
        proc = CongressProcess(workdir, node_id=name, db_url=db_url, extra=extra, roles=roles)
        self.procs.append(proc)
        if start:
            proc.start()
        return proc

    def close(self) -> None:
        for proc in reversed(self.procs):
            try:
                proc.stop()
            except Exception:  # noqa: BLE001 - make sure the others stop too
                proc.kill()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerFactory]:
    factory = ServerFactory(str(tmp_path_factory.mktemp("servers")))
    yield factory
    factory.close()


# --------------------------------------------------------------------------- checks
def assert_error(resp: Response, status: int, error_code: int | None = None,
                 message: str | None = None, *, contains: str | None = None,
                 data: bool = False) -> dict[str, Any]:
    """``resp`` is the error envelope with this status / error_code / message (exact) or
    containing ``contains``; never a traceback. Returns the ``error`` object."""
    assert resp.status == status, resp
    assert resp.headers.get("Content-Type") == "application/json; charset=UTF-8", resp.headers
    assert b"Traceback" not in resp.raw and b'File "' not in resp.raw, resp
    assert resp.raw.endswith(b"\n"), resp
    body = json.loads(resp.raw)
    assert set(body) == {"error"}, body
    err = body["error"]
    assert set(err) == ENVELOPE_KEYS, err
    assert isinstance(err["message"], str) and err["message"], err
    assert err["error_code"] == (status if error_code is None else error_code), err
    if message is not None:
        assert err["message"] == message, err
    if contains is not None:
        assert contains in err["message"], err
    if not data:
        assert err["error_data"] is None, err
    return err


def _get_json(server: CongressProcess, path: str) -> Any:
    r = server.get(path)
    return r.json if r.status == 200 else ("status", r.status)


def snapshot(server: CongressProcess) -> dict[str, Any]:
    """Everything the API shows as stored: policies with their rules, tables and rows,
    library policies, datasources (when a datasource manager runs) and the policy revision."""
    state: dict[str, Any] = {}
    r = server.get("/v1/policies")
    assert r.status == 200, r
    state["revision"] = r.headers.get("X-Congress-Policy-Revision")
    policies = sorted(r.json["results"], key=lambda p: p["name"])
    state["policies"] = policies
    for pol in policies:
        name = pol["name"]
        rules = server.get(f"/v1/policies/{name}/rules").json["results"]
        state[f"rules:{name}"] = sorted(rules, key=lambda x: x["id"])
        tables = sorted(t["id"] for t in server.get(f"/v1/policies/{name}/tables").json
                        ["results"])
        state[f"tables:{name}"] = tables
        for table in tables:
            if ":" in table:
                continue
            rows = _get_json(server, f"/v1/policies/{name}/tables/{table}/rows")
            if isinstance(rows, dict):
                rows = sorted(json.dumps(x["data"]) for x in rows["results"])
            state[f"rows:{name}:{table}"] = rows
    state["library"] = sorted(
        server.get("/v1/librarypolicies").json["results"], key=lambda p: p["id"])
    ds = _get_json(server, "/v1/data-sources")
    state["datasources"] = sorted(ds["results"], key=lambda d: d["id"]) \
        if isinstance(ds, dict) else ds
    return state


@contextlib.contextmanager
def unchanged(server: CongressProcess) -> Iterator[dict[str, Any]]:
    """The block must leave everything stored (and the policy revision) as it was."""
    before = snapshot(server)
    yield before
    after = snapshot(server)
    if after != before:
        diff = {k: (before.get(k), after.get(k)) for k in set(before) | set(after)
                if before.get(k) != after.get(k)}
        raise AssertionError(f"stored state changed: {diff}")
