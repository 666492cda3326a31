"""README.md's examples run, in order, against a fresh all-in-one server and do what it says."""

from __future__ import annotations

import subprocess

from tests import readme_examples


def test_readme_examples_work_on_a_fresh_server(servers):
    srv = servers("readme")
    proc = subprocess.run(["bash", "-c", readme_examples.script(srv.port)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert readme_examples.problems(proc.stdout) == [], proc.stdout
    results = readme_examples.calls(proc.stdout)
    assert len(results) == 5, results
    # the last call shows what the README says it shows
    status, body = results[-1]
    assert body == {"results": [{"data": ["compute-1"]}]}, body
    # and the server holds it
    r = srv.get("/v1/policies/classification/tables/host_down/rows")
    assert r.json == {"results": [{"data": ["compute-1"]}]}


def test_a_failing_example_is_reported():
    """The checker finds an error envelope and a non-2xx status (the README test can fail)."""
    output = ('{"error": {"message": "x", "error_code": 1002, "error_data": null}}\n400\n'
              f"{readme_examples.SEPARATOR}\n\n200\n{readme_examples.SEPARATOR}\n")
    assert readme_examples.problems(output) == [
        'call 1: HTTP 400 {"error": {"message": "x", "error_code": 1002, "error_data": null}}']
    assert readme_examples.problems(f"{{}}\n200\n{readme_examples.SEPARATOR}\n") == []
