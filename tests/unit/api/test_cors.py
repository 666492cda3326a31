"""CORS (congress/api/cors.py), the outermost layer of the API as in OpenStack Congress's paste
pipeline, with oslo.middleware's ``[cors]`` options and the original Congress's defaults; also
tested against a real server (tests/functional/test_api_endpoints.py)."""

from __future__ import annotations

from typing import Any

PREFLIGHT = {"Origin": "http://dash.example", "Access-Control-Request-Method": "POST"}
CORS_HEADERS = ("Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
                "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
                "Access-Control-Max-Age", "Access-Control-Expose-Headers")


def no_cors_headers(r: Any) -> bool:
    return not any(h in r.headers for h in CORS_HEADERS)


def test_options_is_an_empty_200_without_allowed_origins(client: Any) -> None:
    for path in ("/v1/policies", "/v1/policies/x/rules", "/nowhere"):
        r = client.simulate_options(path, headers={"Origin": "http://dash.example",
                                                   "Access-Control-Request-Method": "GET"})
        assert r.status_code == 200 and r.content == b""
        assert no_cors_headers(r)
    # other methods are untouched
    r = client.simulate_get("/v1/policies", headers={"Origin": "http://dash.example"})
    assert r.status_code == 200 and no_cors_headers(r)


def test_a_preflight_for_what_is_allowed(make_client: Any) -> None:
    client = make_client("[cors]\nallowed_origin = http://dash.example,http://other.example\n")
    r = client.simulate_options("/v1/policies", headers={
        **PREFLIGHT, "Access-Control-Request-Headers": "x-auth-token, Content-Type"})
    assert r.status_code == 200 and r.content == b""
    assert r.headers["Access-Control-Allow-Origin"] == "http://dash.example"
    assert r.headers["Vary"] == "Origin"
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert r.headers["Access-Control-Max-Age"] == "3600"
    # the method and headers asked for, as asked (the original's defaults allow X-Auth-Token)
    assert r.headers["Access-Control-Allow-Methods"] == "POST"
    assert r.headers["Access-Control-Allow-Headers"] == "x-auth-token,Content-Type"


def test_a_preflight_for_what_is_not_allowed_allows_nothing(make_client: Any) -> None:
    client = make_client("[cors]\nallowed_origin = http://dash.example\n"
                         "allow_methods = GET,POST\nallow_headers = X-Auth-Token\n")
    refused = [
        {**PREFLIGHT, "Origin": "http://evil.example"},              # origin
        {**PREFLIGHT, "Access-Control-Request-Method": "DELETE"},    # method
        {**PREFLIGHT, "Access-Control-Request-Headers": "X-Auth-Token,X-Roles"},  # a header
        {"Origin": "http://dash.example"},                           # not a preflight
        {},
    ]
    for headers in refused:
        r = client.simulate_options("/v1/policies", headers=headers)
        assert r.status_code == 200 and r.content == b"", headers
        assert no_cors_headers(r), headers
    r = client.simulate_options("/v1/policies", headers={
        **PREFLIGHT, "Access-Control-Request-Headers": "X-Auth-Token"})
    assert r.headers["Access-Control-Allow-Origin"] == "http://dash.example"


def test_a_request_from_an_allowed_origin(make_client: Any) -> None:
    client = make_client("[cors]\nallowed_origin = http://dash.example\n"
                         "allow_credentials = false\nexpose_headers = X-Congress-Node\n")
    r = client.simulate_get("/v1/policies", headers={"Origin": "http://dash.example"})
    assert r.status_code == 200 and len(r.json["results"]) == 2
    assert r.headers["Access-Control-Allow-Origin"] == "http://dash.example"
    assert r.headers["Vary"] == "Origin"
    assert r.headers["Access-Control-Expose-Headers"] == "X-Congress-Node"
    assert "Access-Control-Allow-Credentials" not in r.headers
    # errors are decorated too (a browser page must be able to read them)
    r = client.simulate_get("/v1/policies/nope", headers={"Origin": "http://dash.example"})
    assert r.status_code == 404 and r.headers["Access-Control-Allow-Origin"] == "http://dash.example"
    for headers in ({"Origin": "http://evil.example"}, {}):
        r = client.simulate_get("/v1/policies", headers=headers)
        assert r.status_code == 200 and no_cors_headers(r)
        assert "Vary" not in r.headers


def test_any_origin(make_client: Any) -> None:
    client = make_client("[cors]\nallowed_origin = *\n")
    r = client.simulate_get("/v1/policies", headers={"Origin": "http://any.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    r = client.simulate_options("/v1/policies", headers={**PREFLIGHT,
                                                         "Origin": "http://any.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_the_layer_keeps_a_vary_and_an_allow_origin_of_the_response() -> None:
    from types import SimpleNamespace

    from congress.api.cors import Cors

    def inner_with(headers: list[tuple[str, str]]) -> Any:
        def inner(env: dict[str, Any], start_response: Any) -> list[bytes]:
            start_response("200 OK", headers)
            return [b"x"]
        return inner

    group = SimpleNamespace(allowed_origin=["http://a"], allow_credentials=True,
                            expose_headers=[], max_age=0, allow_methods=["GET"],
                            allow_headers=[])
    seen: list[list[tuple[str, str]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen.append(headers)

    env = {"REQUEST_METHOD": "GET", "HTTP_ORIGIN": "http://a"}
    Cors(inner_with([("vary", "Accept")]), group)(env, start_response)
    assert dict(seen[-1]) == {"vary": "Accept,Origin", "Access-Control-Allow-Origin": "http://a",
                              "Access-Control-Allow-Credentials": "true"}
    own = [("Access-Control-Allow-Origin", "http://b")]
    Cors(inner_with(own), group)(env, start_response)
    assert seen[-1] == own
    # no Max-Age when max_age is 0
    Cors(inner_with([]), group)({"REQUEST_METHOD": "OPTIONS", "HTTP_ORIGIN": "http://a",
                                 "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "GET"}, start_response)
    assert "Access-Control-Max-Age" not in dict(seen[-1])
    assert dict(seen[-1])["Access-Control-Allow-Methods"] == "GET"
