"""``/v1/openapi.json`` fuzzed by schemathesis against a live all-in-one server: no 5xx (but the
documented 501 ``Method not supported``) and every error the documented envelope."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.functional.harness import ROOT

pytestmark = pytest.mark.functional

HERE = os.path.join(ROOT, "tests", "functional")
ST = shutil.which("st", path=os.path.dirname(sys.executable)) or "st"


def test_schemathesis_finds_no_server_error(servers) -> None:
    srv = servers("fuzzed")
    r = srv.post("/v1/data-sources", {"name": "inv", "driver": "push",
                                      "config": {"description": "fuzz target"}})
    assert r.status == 201, r
    assert srv.request("PUT", "/v1/data-sources/inv/tables/data/rows", [["a"], ["b"]]).status \
        == 200
    assert srv.post("/v1/policies/classification/rules",
                    {"rule": "host(x) :- inv:data(x)"}).status == 201
    doc = srv.get("/v1/openapi.json")
    assert doc.status == 200 and doc.json["openapi"] == "3.1.0"

    env = {**os.environ, "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
           "PYTHONPATH": HERE + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [ST, "run", srv.url + "/v1/openapi.json",
         "--checks", "no_server_error,response_schema_conformance",
         "--phases", "examples,coverage,fuzzing", "--max-examples", "40", "--workers", "1",
         "--seed", "1789"],
        capture_output=True, text=True, cwd=HERE, env=env, timeout=900)
    tail = proc.stdout[-6000:] + proc.stderr[-2000:]
    print(tail[-1500:])
    assert proc.returncode == 0, tail
    assert "Tested: " in proc.stdout and " passed" in proc.stdout, tail
    assert not [line for line in srv.log_tail(10_000_000).splitlines()
                if "Unexpected error handling" in line]
