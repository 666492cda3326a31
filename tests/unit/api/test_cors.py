"""CORS (oslo.middleware ``cors``), the outermost layer of the API as in OpenStack Congress's
paste pipeline; with an allowed origin it is tested against a real server
(tests/functional/test_api_endpoints.py)."""

from __future__ import annotations

from typing import Any


def test_options_is_an_empty_200_without_allowed_origins(client: Any) -> None:
    for path in ("/v1/policies", "/v1/policies/x/rules", "/nowhere"):
        r = client.simulate_options(path, headers={"Origin": "http://dash.example",
                                                   "Access-Control-Request-Method": "GET"})
        assert r.status_code == 200 and r.content == b""
        assert "Access-Control-Allow-Origin" not in r.headers
    # other methods are untouched
    assert client.simulate_get("/v1/policies").status_code == 200
