"""Edge hardening: lone surrogates, sizes checked before parsing, errors that do not echo whole
requests, nothing about the deployment in 401s, no default auth_strategy outside the developer
server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from congress.api.app import auth_strategy
from congress.exceptions import ConfigurationError
from tests.unit.api.conftest import error_of, make_conf

LONE = "\ud800"

#: every request that carries a JSON body, with a lone surrogate in a free-text place
SURROGATE_REQUESTS: list[tuple[str, str, Any]] = [
    ("POST", "/v1/policies", {"name": "p1", "description": LONE}),
    ("POST", "/v1/policies", {"name": "p1", "rules": [{"rule": "p(x) :- q(x)",
                                                       "comment": "a" + LONE}]}),
    ("POST", "/v1/policies/classification/rules", {"rule": "p(x) :- q(x)", "comment": LONE}),
    ("POST", "/v1/policies/classification/rules", {"rule": "p(x) :- q(x)", "name": LONE}),
    ("POST", "/v1/policies/classification/rules", {"rule": f'p(x) :- q(x, "{LONE}")'}),
    ("POST", "/v1/policies/classification?action=simulate",
     {"query": "p(x)", "sequence": f'q("{LONE}")', "action_policy": "action"}),
    ("POST", "/v1/policies/action?action=execute",
     {"name": "nova:servers.pause", "args": {"positional": [LONE]}}),
    ("POST", "/v1/librarypolicies", {"name": "lib", "description": LONE, "rules": []}),
    ("PUT", "/v1/librarypolicies/lib", {"name": "lib", "description": LONE, "rules": []}),
    ("POST", "/v1/data-sources", {"name": "d1", "driver": "doctor", "description": LONE}),
    ("POST", "/v1/data-sources", {"name": "d1", "driver": "doctor",
                                  "config": {"auth_url": LONE}}),
    ("POST", "/v1/data-sources/nova?action=execute",
     {"name": "servers.pause", "args": {"named": {"id": LONE}}}),
    ("POST", "/v1/data-sources/nova/webhook", {"payload": [LONE]}),
    ("POST", "/v1/policies", {LONE: "key", "name": "p1"}),     # in an object key
]


@pytest.mark.parametrize("method, path, body", SURROGATE_REQUESTS)
def test_lone_surrogate_is_400_before_any_service_call(client, backend, method, path,
                                                       body) -> None:
    text = json.dumps(body)       # ensure_ascii: the surrogate travels as a \ud800 escape
    assert "\\ud800" in text
    result = client.simulate_request(method, path, body=text,
                                     headers={"Content-Type": "application/json"})
    assert result.status_code == 400, result.text
    err = error_of(result)
    assert "lone surrogate" in err["message"]
    assert not [c for c in backend.calls if c[1] != "node_info"], backend.calls


def test_lone_surrogate_in_pushed_rows_is_400(client, backend) -> None:
    """Pushed rows go to the datasource as text (it decodes them): refused there."""
    backend.ds_manager.create_datasource({"name": "pusher", "driver": "push"})
    text = json.dumps([["s1", "x"], ["s2", LONE]])
    result = client.simulate_put("/v1/data-sources/pusher/tables/t/rows", body=text)
    assert result.status_code == 400, result.text
    assert "lone surrogate" in error_of(result)["message"]
    assert "t" not in backend.ds_manager.services["pusher"].tables


def test_surrogate_pairs_are_characters_and_accepted(client) -> None:
    body = json.dumps({"name": "p1", "description": "emoji \ud83d\ude00 \\ud83d\\ude00"})
    result = client.simulate_post("/v1/policies", body=body)
    assert result.status_code == 201, result.text
    assert result.json["description"] == "emoji \U0001F600 \\ud83d\\ude00"


def test_backslash_u_in_text_without_surrogates_is_fine(client) -> None:
    result = client.simulate_post("/v1/policies",
                                  body=json.dumps({"name": "p1", "description": "\u00e9 \\u"}))
    assert result.status_code == 201, result.text


# --------------------------------------------------------------------------- sizes, echoes
def test_oversized_rule_is_refused_before_the_engine_sees_it(client, backend) -> None:
    rule = "p(x) :- " + ", ".join(f"q{i}(x)" for i in range(10_000))
    assert len(rule.encode()) > 65535
    result = client.simulate_post("/v1/policies/classification/rules",
                                  body=json.dumps({"rule": rule}))
    assert result.status_code == 400
    assert error_of(result)["message"] == "Bad Request::Rule must be at most 65535 bytes long"
    assert not [c for c in backend.calls if c[1] == "insert_rule"]


def test_oversized_rule_in_a_policy_is_refused_before_the_engine_sees_it(client,
                                                                         backend) -> None:
    body = {"name": "big", "rules": [{"rule": "p(x) :- q(x)"}, {"rule": "é" * 40_000}]}
    result = client.simulate_post("/v1/policies", body=json.dumps(body))
    assert result.status_code == 400     # 40,000 characters but 80,000 bytes
    assert "65535 bytes" in error_of(result)["message"]
    assert not [c for c in backend.calls if c[1] == "create_policy"]


def test_schema_errors_do_not_echo_the_whole_body(client) -> None:
    huge = "A" * 1_000_000
    result = client.simulate_post("/v1/librarypolicies",
                                  body=json.dumps({"name": "lib", "rules": huge}))
    assert result.status_code == 400
    err = error_of(result)
    assert err["message"] == "Bad Request::Input policy item violates schema."
    assert isinstance(err["error_data"], str) and "is not of type 'array'" in err["error_data"]
    assert len(result.text) < 2_000, len(result.text)


def test_messages_that_repeat_input_are_capped(client) -> None:
    body = {"name": "p1", "x" * 100_000: 1}
    result = client.simulate_post("/v1/policies", body=json.dumps(body))
    assert result.status_code == 400
    message = error_of(result)["message"]
    assert message.startswith("Bad Request::Unknown field(s) in request body: xxx")
    assert len(message) < 1_100 and "more characters" in message


# --------------------------------------------------------------------------- auth_strategy
def test_auth_strategy_unset_is_noauth_for_the_developer_server(tmp_path) -> None:
    assert auth_strategy(make_conf(tmp_path)) == "noauth"
    assert auth_strategy(make_conf(tmp_path, bind_host="::1")) == "noauth"
    assert auth_strategy(make_conf(tmp_path, bind_host="localhost")) == "noauth"


@pytest.mark.parametrize("config_text, reason", [
    ("[DEFAULT]\nbind_host = 0.0.0.0\n", "bind_host = 0.0.0.0 is not a loopback address"),
    ("[DEFAULT]\nbind_host = 192.0.2.7\n", "bind_host = 192.0.2.7"),
    ("[database]\nconnection = mysql+pymysql://u:p@db/congress\n", "not SQLite"),
])
def test_auth_strategy_unset_refuses_anything_else(tmp_path, config_text, reason) -> None:
    with pytest.raises(ConfigurationError) as err:
        auth_strategy(make_conf(tmp_path, config_text))
    assert "auth_strategy is not set" in str(err.value)
    assert "auth_strategy = keystone" in str(err.value)
    assert reason in str(err.value)
    # stated explicitly, either choice is accepted
    for choice in ("noauth", "keystone"):
        conf = make_conf(tmp_path, config_text + f"[DEFAULT]\nauth_strategy = {choice}\n")
        assert auth_strategy(conf) == choice


def test_auth_strategy_unset_refuses_a_broker_and_role_subsets(tmp_path) -> None:
    from congress import config
    from congress.bus import transport

    conf = make_conf(tmp_path, "[DEFAULT]\ntransport_url = rabbit://g:g@127.0.0.1:5672/\n")
    transport.register_messaging_opts(conf)
    with pytest.raises(ConfigurationError, match="transport_url names a message broker"):
        auth_strategy(conf)

    conf = config.new_conf()
    config.register_cli_opts(conf)
    conf(args=["--api", "--policy-engine"], default_config_files=[])
    with pytest.raises(ConfigurationError, match="roles --api, --policy-engine"):
        auth_strategy(conf)
    conf = config.new_conf()
    config.register_cli_opts(conf)
    conf(args=["--api", "--policy-engine", "--datasources"], default_config_files=[])
    assert auth_strategy(conf) == "noauth"


# --------------------------------------------------------------------------- unavailable services
def test_system_service_missing_from_the_bus_is_503_with_retry_after(client, backend) -> None:
    from congress.exceptions import ServiceNotFound

    backend.errors[("_ds_manager", "list_datasources")] = ServiceNotFound(
        "service '_ds_manager' could not be found")
    result = client.simulate_get("/v1/data-sources")
    assert result.status_code == 503
    err = error_of(result)
    assert err["message"] == ("Service Unavailable::Service '_ds_manager' is unavailable: no "
                              "node of the deployment runs it now")
    assert err["error_data"] == {"service": "_ds_manager"}
    assert result.headers["Retry-After"] == "1"


def test_service_down_is_503_with_its_retry_after(client, backend) -> None:
    from congress.bus.availability import ServiceDown

    backend.errors[("_ds_manager", "list_datasources")] = ServiceDown(
        "Service '_ds_manager' is unavailable: node dsd has not been heard from for 2.0 s",
        retry_after=2.5)
    result = client.simulate_get("/v1/data-sources")
    assert result.status_code == 503
    assert "node dsd has not been heard from" in error_of(result)["message"]
    assert result.headers["Retry-After"] == "3"


def test_every_request_runs_with_a_bus_deadline(make_client, backend) -> None:
    from congress.bus import availability

    seen: list[float | None] = []
    original = backend.call

    def call(service_id: str, method: str, **kwargs: Any) -> Any:
        seen.append(availability.current_deadline())
        return original(service_id, method, **kwargs)

    backend.call = call
    client = make_client(api_request_timeout=7.5)
    import time
    before = time.monotonic()
    assert client.simulate_get("/v1/policies").status_code == 200
    assert seen and seen[0] is not None and before + 7 < seen[0] <= time.monotonic() + 7.5
    assert availability.current_deadline() is None        # cleared after the request


# --------------------------------------------------------------------------- paging
def _fill(backend: Any, n: int) -> None:
    backend.engine.rows[("classification", "big")] = [[f"r{i}"] for i in range(n)]


def test_rows_paging_with_limit_and_marker(client, backend) -> None:
    _fill(backend, 25)
    path = "/v1/policies/classification/tables/big/rows"
    seen: list[list[str]] = []
    marker = None
    pages = 0
    while True:
        query = "limit=10" + (f"&marker={marker}" if marker else "")
        result = client.simulate_get(path, query_string=query)
        assert result.status_code == 200, result.text
        body = result.json
        seen += [r["data"] for r in body["results"]]
        pages += 1
        marker = body.get("next_marker")
        if marker is None:
            break
    assert pages == 3 and seen == [[f"r{i}"] for i in range(25)]
    # without limit (and without max_rows_per_read): every row, no marker, as before
    body = client.simulate_get(path).json
    assert len(body["results"]) == 25 and "next_marker" not in body


@pytest.mark.parametrize("query, message", [
    ("limit=0", "Query parameter 'limit' must be a positive integer"),
    ("limit=x", "Query parameter 'limit' must be a positive integer"),
    ("marker=-1", "Query parameter 'marker' must be a 'next_marker' of an earlier page"),
])
def test_bad_paging_parameters_are_400(client, backend, query, message) -> None:
    _fill(backend, 3)
    result = client.simulate_get("/v1/policies/classification/tables/big/rows",
                                 query_string=query)
    assert result.status_code == 400
    assert error_of(result)["message"] == "Bad Request::" + message


def test_max_rows_per_read_caps_every_answer(make_client, backend) -> None:
    client = make_client(max_rows_per_read=10)
    _fill(backend, 25)
    body = client.simulate_get("/v1/policies/classification/tables/big/rows").json
    assert len(body["results"]) == 10 and body["next_marker"] == "10"
    body = client.simulate_get("/v1/policies/classification/tables/big/rows",
                               query_string="limit=500&marker=20").json
    assert len(body["results"]) == 5 and "next_marker" not in body


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=6).map(lambda s: s.encode("utf-8"))
                | st.binary(max_size=3), max_size=12),
       st.integers(1, 7))
def test_a_body_is_decoded_chunk_by_chunk_as_in_one(pieces: list[bytes], step: int) -> None:
    """Chunk by chunk as it is read (multi-byte characters cut between chunks) the text or
    the error, with its position in the whole body, is the one-call decode's."""
    from congress.api import parsing
    body = b"".join(pieces)
    try:
        expected: Any = body.decode("utf-8")
    except UnicodeDecodeError as e:
        expected = str(e)
    try:
        got: Any = parsing._utf8_text(body[a:a + step] for a in range(0, len(body), step))
    except UnicodeDecodeError as e:
        got = str(e)
    assert got == expected


def test_a_bad_byte_in_a_big_pushed_body_is_400_naming_its_position(client, backend) -> None:
    backend.ds_manager.create_datasource({"name": "pusher", "driver": "push"})
    body = json.dumps([["x" * 100, i] for i in range(20000)]).encode()
    bad = body[:1_500_000] + b"\xff" + body[1_500_001:]
    result = client.simulate_put("/v1/data-sources/pusher/tables/t/rows", body=bad)
    assert result.status_code == 400
    assert "position 1500000" in error_of(result)["message"], error_of(result)
    assert "t" not in backend.ds_manager.services["pusher"].tables
    result = client.simulate_put("/v1/data-sources/pusher/tables/t/rows", body=body)
    assert result.status_code == 200, result.text
    assert len(backend.ds_manager.services["pusher"].tables["t"]) == 20000
