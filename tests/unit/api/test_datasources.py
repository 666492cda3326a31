"""/v1/data-sources and sub-resources, /v1/system/drivers."""

from __future__ import annotations

from typing import Any

import pytest

from congress import exceptions as exc
from tests.unit.api.conftest import error_of, post_json

NOVA = {"name": "nova", "driver": "fake", "description": "compute",
        "config": {"username": "admin", "password": "s3cret", "poll_time": 10}}


@pytest.fixture
def nova(client) -> dict:
    result = post_json(client, "/v1/data-sources", NOVA)
    assert result.status_code == 201, result.text
    return result.json


def test_create_datasource_masks_secrets(client, backend) -> None:
    result = post_json(client, "/v1/data-sources", NOVA)
    assert result.status_code == 201
    ds = result.json
    assert result.headers["Location"] == f"/v1/data-sources/{ds['id']}"
    assert ds["config"] == {"username": "admin", "password": "<hidden>", "poll_time": 10}
    assert set(ds) == {"id", "name", "driver", "description", "type", "enabled", "config"}
    assert backend.last_call("create_datasource") == ("_ds_manager", {"body": NOVA})


def test_list_and_get_mask_secrets(client, backend, nova) -> None:
    listing = client.simulate_get("/v1/data-sources")
    assert listing.status_code == 200
    assert listing.json["results"][0]["config"]["password"] == "<hidden>"
    assert listing.json["results"][0]["config"]["username"] == "admin"
    for ref in (nova["id"], "nova"):
        got = client.simulate_get(f"/v1/data-sources/{ref}")
        assert got.status_code == 200
        assert got.json["config"]["password"] == "<hidden>"
        assert got.json["id"] == nova["id"]


def test_unknown_driver_hides_everything(client, backend, nova) -> None:
    backend.errors[("_ds_manager", "get_driver")] = exc.DriverNotFound("gone")
    got = client.simulate_get("/v1/data-sources/nova")
    assert got.json["config"] == {"username": "<hidden>", "password": "<hidden>",
                                  "poll_time": "<hidden>"}


def test_get_unknown_datasource(client) -> None:
    result = client.simulate_get("/v1/data-sources/nope")
    assert result.status_code == 404
    assert error_of(result) == {"message": "Not Found::Datasource not found nope",
                                "error_code": 404, "error_data": None}


@pytest.mark.parametrize("body, message", [
    ({"driver": "fake"}, "Bad Request::Missing required field 'name'"),
    ({"name": "x"}, "Bad Request::Missing required field 'driver'"),
    ({"name": 1, "driver": "fake"}, "Bad Request::Field 'name' must be a string"),
    ({"name": "x", "driver": "fake", "config": []},
     "Bad Request::Field 'config' must be a JSON object"),
    ({"name": "x", "driver": "fake", "config": {"a": {"b": 1}}},
     "Bad Request::Field 'config' value of 'a' must be a string, number or boolean"),
    ({"name": "x", "driver": "fake", "enabled": "yes"},
     "Bad Request::Field 'enabled' must be true or false"),
    ({"name": "x", "driver": "fake", "description": 5},
     "Bad Request::Field 'description' must be a string"),
    ({"name": "x", "driver": "fake", "id": "abc"},
     "Bad Request::Unknown field(s) in request body: id"),
    ({"name": "x", "driver": "nope"}, "Bad Request::Invalid driver: nope"),
])
def test_create_errors(client, body, message) -> None:
    result = post_json(client, "/v1/data-sources", body)
    assert result.status_code == 400
    assert error_of(result) == {"message": message, "error_code": 400, "error_data": None}


def test_create_conflict_and_unavailable(client, backend, nova) -> None:
    dup = post_json(client, "/v1/data-sources", NOVA)
    assert dup.status_code == 409
    assert error_of(dup)["message"] == "Conflict::Datasource already in use with name nova"
    backend.errors[("_ds_manager", "create_datasource")] = exc.ServiceUnavailable(
        "no datasource node")
    result = post_json(client, "/v1/data-sources", {**NOVA, "name": "other"})
    assert result.status_code == 503
    assert error_of(result)["message"] == "Service Unavailable::no datasource node"


def test_delete_datasource(client, backend, nova) -> None:
    result = client.simulate_delete("/v1/data-sources/nova")
    assert result.status_code == 200
    assert result.text == "null\n"
    assert backend.last_call("delete_datasource") == ("_ds_manager", {"ds": "nova"})
    again = client.simulate_delete(f"/v1/data-sources/{nova['id']}")
    assert again.status_code == 404
    assert error_of(again)["error_code"] == 404


def test_request_refresh(client, backend, nova) -> None:
    result = client.simulate_post(f"/v1/data-sources/{nova['id']}",
                                  query_string="action=request-refresh")
    assert result.status_code == 200 and result.text == "null\n"
    assert backend.calls[-2:] == [("_ds_manager", "resolve", {"ds": nova["id"]}),
                                  ("nova", "request_refresh", {})]
    unknown = client.simulate_post("/v1/data-sources/nope", query_string="action=request-refresh")
    assert unknown.status_code == 404


def test_execute_on_datasource(client, backend, nova) -> None:
    args = {"positional": ["a"], "named": {"k": "v"}}
    result = post_json(client, f"/v1/data-sources/{nova['id']}", {"name": "reboot", "args": args},
                       query_string="action=execute")
    assert result.status_code == 200
    assert result.json == {}
    assert backend.ds_manager.services["nova"].executed == [
        {"action": "reboot", "args": args, "requested_by": "node:node-1", "trigger": None}]
    post_json(client, "/v1/data-sources/nova", {"name": "stop"}, query_string="action=execute")
    assert backend.last_call("request_execute") == ("nova", {
        "action": "stop", "args": {}, "requested_by": "node:node-1"})


@pytest.mark.parametrize("body, code", [
    ({"name": "x", "args": "a"}, 1018), ({"name": "x", "args": {"named": 1}}, 1018),
    ({}, 400), ({"name": 3}, 400), ({"name": "x", "more": 1}, 400),
])
def test_execute_on_datasource_errors(client, nova, body, code) -> None:
    result = post_json(client, "/v1/data-sources/nova", body, query_string="action=execute")
    assert result.status_code == 400
    assert error_of(result)["error_code"] == code


def test_execute_action_error_is_1016(client, backend, nova) -> None:
    backend.errors[("nova", "request_execute")] = exc.ActionError("failed")
    result = post_json(client, "/v1/data-sources/nova", {"name": "x"},
                       query_string="action=execute")
    assert result.status_code == 400
    assert error_of(result)["message"] == "Error in execution procedure::failed"


def test_status_schema_spec_actions(client, backend, nova) -> None:
    status = client.simulate_get(f"/v1/data-sources/{nova['id']}/status")
    assert status.status_code == 200
    assert status.json["initialized"] == "True"
    assert status.json["subscribers"] == ["__engine"]
    schema = client.simulate_get("/v1/data-sources/nova/schema")
    assert schema.json == {"tables": [{"table_id": "servers", "columns": [
        {"name": "id", "description": "server id"}, {"name": "name", "description": None}]}]}
    spec = client.simulate_get("/v1/data-sources/nova/tables/servers/spec")
    assert spec.json == schema.json["tables"][0]
    no_spec = client.simulate_get("/v1/data-sources/nova/tables/zz/spec")
    assert no_spec.status_code == 404
    assert error_of(no_spec)["message"] == \
        "Not Found::Table 'zz' for datasource 'nova' has no schema "
    actions = client.simulate_get("/v1/data-sources/nova/actions")
    assert actions.status_code == 200
    assert [a["name"] for a in actions.json["results"]] == ["alpha", "zeta"]
    assert actions.text.startswith('{\n  "results"')
    for sub in ("status", "schema", "actions", "tables", "tables/servers",
                "tables/servers/rows", "tables/servers/spec"):
        assert client.simulate_get(f"/v1/data-sources/nope/{sub}").status_code == 404, sub


def test_schema_and_actions_other_shapes(client, backend, nova) -> None:
    svc = backend.ds_manager.services["nova"]
    svc.get_schema = lambda: [{"table_id": "t", "columns": []}]
    assert client.simulate_get("/v1/data-sources/nova/schema").json == {
        "tables": [{"table_id": "t", "columns": []}]}
    svc.get_actions = lambda: {"results": [{"name": "b"}, {"name": "a"}]}
    assert client.simulate_get("/v1/data-sources/nova/actions").json == {
        "results": [{"name": "a"}, {"name": "b"}]}
    backend.errors[("nova", "get_actions")] = exc.NotFound("no actions")
    assert client.simulate_get("/v1/data-sources/nova/actions").status_code == 404


def test_datasource_tables_and_rows(client, backend, nova) -> None:
    tables = client.simulate_get(f"/v1/data-sources/{nova['id']}/tables")
    assert tables.status_code == 200
    assert tables.json == {"results": [{"id": "flavors"}, {"id": "servers"}]}
    assert client.simulate_get("/v1/data-sources/nova/tables/servers").json == {"id": "servers"}
    missing = client.simulate_get("/v1/data-sources/nova/tables/zz")
    assert missing.status_code == 404
    assert error_of(missing)["message"] == "Not found"
    rows = client.simulate_get("/v1/data-sources/nova/tables/servers/rows",
                               query_string="trace=true")
    assert rows.status_code == 200
    assert rows.json == {"results": [{"data": ["s1", "one"]}]}
    assert backend.last_call("get_rows") == ("nova", {"table": "servers"})
    no_rows = client.simulate_get("/v1/data-sources/nova/tables/zz/rows")
    assert no_rows.status_code == 404
    assert error_of(no_rows)["message"] == "Not Found::tablename 'zz' does not exist'"
    backend.errors[("nova", "get_rows")] = exc.LazyTableError(
        "table servers is a lazy table and is not subscribed.")
    lazy = client.simulate_get("/v1/data-sources/nova/tables/servers/rows")
    assert lazy.status_code == 400


def test_replace_rows(client, backend) -> None:
    backend.ds_manager.create_datasource({"name": "pusher", "driver": "push"})
    result = client.simulate_put("/v1/data-sources/pusher/tables/t/rows", body="[[1, 2], [3, 4]]")
    assert result.status_code == 200
    assert result.text == ""
    assert result.headers["Content-Type"] == "application/json; charset=UTF-8"
    # the array goes to the datasource as text, which it decodes
    assert backend.last_call("replace_table_json") == ("pusher", {"table": "t",
                                                                  "body": "[[1, 2], [3, 4]]"})
    assert backend.ds_manager.services["pusher"].tables["t"] == [[1, 2], [3, 4]]
    assert client.simulate_put("/v1/data-sources/pusher/tables/t/rows",
                               body="[]").status_code == 200
    not_list = client.simulate_put("/v1/data-sources/pusher/tables/t/rows", body="{}")
    assert not_list.status_code == 400
    assert error_of(not_list)["message"] == \
        "Bad Request::The request body must be a JSON array of rows"


def test_replace_rows_not_json(client, backend) -> None:
    backend.ds_manager.create_datasource({"name": "pusher", "driver": "push"})
    for body, message in [("[[1, 2] [3]]", "Expecting ',' delimiter"),
                          ("[1", "Expecting ',' delimiter"), ("{", "Expecting property name"),
                          ("", "Expecting value")]:
        result = client.simulate_put("/v1/data-sources/pusher/tables/t/rows", body=body)
        assert result.status_code == 400
        # the message of the datasource's decoder, answered verbatim as for any body
        assert error_of(result)["message"].startswith(
            f"Failed to parse body as application/json: {message}"), body


def test_replace_rows_on_a_datasource_of_an_earlier_version(client, backend) -> None:
    """A datasource node without replace_table_json (a rolling upgrade) gets the rows."""
    backend.ds_manager.create_datasource({"name": "pusher", "driver": "push"})
    backend.errors[("pusher", "replace_table_json")] = exc.BadRequest(
        "Method replace_table_json not supported for service pusher")
    result = client.simulate_put("/v1/data-sources/pusher/tables/t/rows", body="[[1, 2]]")
    assert result.status_code == 200
    assert backend.last_call("replace_table") == ("pusher", {"table": "t", "rows": [[1, 2]]})


def test_replace_rows_on_polling_driver(client, nova) -> None:
    result = client.simulate_put("/v1/data-sources/nova/tables/servers/rows", body="[]")
    assert result.status_code == 400
    assert error_of(result)["message"] == \
        "Bad Request::Method replace_entire_table_data not supported for datasource nova"


def test_webhook(client, backend, nova) -> None:
    result = client.simulate_post(f"/v1/data-sources/{nova['id']}/webhook",
                                  body='{"event": "x"}')
    assert result.status_code == 200
    assert result.text == ""
    assert backend.ds_manager.services["nova"].webhooks == [({"event": "x"}, None)]
    assert backend.last_call("webhook") == ("nova", {"payload": {"event": "x"}})
    backend.errors[("nova", "webhook")] = exc.CongressError("no webhook handler")
    assert client.simulate_post("/v1/data-sources/nova/webhook", body="[]").status_code == 500
    assert client.simulate_post("/v1/data-sources/nova/webhook", body="{").status_code == 400


# --------------------------------------------------------------------------- drivers
def test_drivers(client, backend) -> None:
    listing = client.simulate_get("/v1/system/drivers")
    assert listing.status_code == 200
    assert listing.json == {"results": [{"id": "fake", "description": "A fake driver"},
                                        {"id": "push", "description": "Push driver"}]}
    one = client.simulate_get("/v1/system/drivers/fake")
    assert one.status_code == 200
    assert one.json["secret"] == ["password"]
    assert one.json["config"]["poll_time"] == "(optional)"
    assert backend.last_call("get_driver") == ("_ds_manager", {"driver_id": "fake"})
    missing = client.simulate_get("/v1/system/drivers/nope")
    assert missing.status_code == 404
    assert error_of(missing)["message"] == (
        "Not Found::Driver not found nope. Either not supported or disabled by deployer in "
        "Congress config")


def test_a_push_is_bulk_work_from_its_body_on(client, backend, monkeypatch) -> None:
    """From reading a big body to the datasource's answer the collector is paused and the
    malloc trimmer waits (congress.gcpause); after it, neither."""
    from congress import gcpause
    from congress.api import parsing
    backend.ds_manager.create_datasource({"name": "pusher", "driver": "push"})
    seen: list[tuple[str, int]] = []
    real_text, real_call = parsing.json_text, backend.call

    def json_text(*args: Any, **kwargs: Any) -> str:
        seen.append(("read", gcpause.pauses()))
        return real_text(*args, **kwargs)

    def call(service_id: str, method: str, **kwargs: Any) -> Any:
        seen.append((method, gcpause.pauses()))
        return real_call(service_id, method, **kwargs)

    monkeypatch.setattr(parsing, "json_text", json_text)
    monkeypatch.setattr(backend, "call", call)
    from congress.api import tables
    monkeypatch.setattr(tables, "BULK_BODY", 10)
    assert gcpause.pauses() == 0
    result = client.simulate_put("/v1/data-sources/pusher/tables/t/rows",
                                 body="[[1, 2], [3, 4]]")
    assert result.status_code == 200
    assert ("read", 1) in seen and ("replace_table_json", 1) in seen, seen
    assert gcpause.pauses() == 0
    bad = client.simulate_put("/v1/data-sources/pusher/tables/t/rows", body="[[1, 2], [3]")
    assert bad.status_code == 400 and gcpause.pauses() == 0
    seen.clear()        # a small body is no bulk work
    assert client.simulate_put("/v1/data-sources/pusher/tables/t/rows",
                               body="[[1]]").status_code == 200
    assert ("read", 0) in seen, seen
