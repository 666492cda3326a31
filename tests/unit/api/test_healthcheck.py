"""GET/HEAD /healthcheck."""

from __future__ import annotations

import json
import logging

import pytest


def test_healthy(client) -> None:
    result = client.simulate_get("/healthcheck")
    assert result.status_code == 200
    assert result.text == "OK"
    assert result.headers["Content-Type"] == "text/plain; charset=UTF-8"
    head = client.simulate_head("/healthcheck")
    assert head.status_code == 204
    assert head.text == ""


def test_disabled_by_file(client, conf) -> None:
    path = conf.healthcheck.disable_by_file_path
    open(path, "w").close()
    result = client.simulate_get("/healthcheck")
    assert result.status_code == 503
    assert result.text == "DISABLED BY FILE"
    assert client.simulate_head("/healthcheck").status_code == 503


def test_unhealthy_node(client, backend) -> None:
    backend.info["healthy"] = False
    result = client.simulate_get("/healthcheck")
    assert (result.status_code, result.text) == (503, "NODE UNHEALTHY")
    backend.node_info_error = RuntimeError("bus down")
    result = client.simulate_get("/healthcheck")
    assert (result.status_code, result.text) == (503, "NODE UNAVAILABLE")


def test_both_reasons(client, backend, conf) -> None:
    open(conf.healthcheck.disable_by_file_path, "w").close()
    backend.info["healthy"] = False
    assert client.simulate_get("/healthcheck").text == "DISABLED BY FILE\nNODE UNHEALTHY"


@pytest.mark.parametrize("accept, is_json", [
    (None, False), ("*/*", False), ("text/plain", False), ("text/*", False),
    ("application/json", True), ("application/*", True),
    ("text/plain;q=0.5, application/json", True), ("application/json, text/plain", False),
    ("text/html", False),
])
def test_content_negotiation(client, accept, is_json) -> None:
    result = client.simulate_get("/healthcheck", headers={"Accept": accept} if accept else {})
    assert result.status_code == 200
    if is_json:
        assert result.headers["Content-Type"] == "application/json; charset=UTF-8"
        assert json.loads(result.text) == {"detailed": False, "reasons": ["OK"]}
    else:
        assert result.text == "OK"


def test_detailed(make_client, backend, conf) -> None:
    client = make_client(healthcheck__detailed=True)
    body = json.loads(client.simulate_get("/healthcheck",
                                          headers={"Accept": "application/json"}).text)
    assert body["detailed"] is True
    assert [r["class"] for r in body["reasons"]] == ["DisableByFile", "Node", "Dependencies"]
    assert {r["reason"] for r in body["reasons"]} == {"OK"}
    assert body["node"]["node_id"] == "node-1"
    assert body["node"]["detail"] == {"services": ["__engine"]}
    assert {"now", "python_version", "platform"} <= set(body)
    backend.info["healthy"] = False
    result = client.simulate_get("/healthcheck", headers={"Accept": "application/json"})
    assert result.status_code == 503
    assert [r["reason"] for r in json.loads(result.text)["reasons"]] == [
        "OK", "NODE UNHEALTHY", "OK"]
    assert client.simulate_get("/healthcheck").text == "NODE UNHEALTHY"


def test_detailed_reports_unavailable_services_as_degraded(make_client, backend) -> None:
    client = make_client(healthcheck__detailed=True)
    backend.info["unavailable_services"] = {
        "_ds_manager": "node dsd has not been heard from for 2.1 s"}
    result = client.simulate_get("/healthcheck", headers={"Accept": "application/json"})
    assert result.status_code == 200          # degraded: still serving policy reads
    reasons = {r["class"]: r for r in json.loads(result.text)["reasons"]}
    assert reasons["Dependencies"]["reason"] == "DEGRADED"
    assert reasons["Dependencies"]["details"] == (
        "service _ds_manager unavailable: node dsd has not been heard from for 2.1 s")
    assert client.simulate_get("/healthcheck").text == "OK"


def test_healthcheck_logged_at_debug_when_healthy(client, backend, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="congress.api"):
        client.simulate_get("/healthcheck")
        backend.info["healthy"] = False
        client.simulate_get("/healthcheck")
    lines = [r.getMessage() for r in caplog.records if r.name == "congress.api"]
    assert len(lines) == 1 and lines[0].startswith("GET /healthcheck 503")
