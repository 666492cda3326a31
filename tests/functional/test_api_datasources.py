"""Datasource and driver endpoints (doc/api.md §Data sources) over real HTTP against a real
all-in-one ``congress-server``: push, doctor, fake and vitrage (webhook) datasources, rows pushed
and seen through policy rules, status / schema / spec / actions / tables / execute /
request-refresh, every error class with "nothing stored changed" re-checks, and pushed rows
surviving a restart (``persist_data``) on SQLite and on MariaDB.

The generic ``push`` driver has one table, ``data``, whose width is set by the first rows pushed
to it; rules read it as ``<ds>:data(x, y, ...)``.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

from tests.functional.conftest import assert_error, unchanged
from tests.functional.harness import CongressProcess, MariaDBDatabase, wait_for

pytestmark = pytest.mark.functional

FAKE_CONFIG = {"username": "admin", "password": "s3cret", "project_name": "demo",
               "auth_url": "http://127.0.0.1:9/v3"}

DOCTOR_EVENTS = [
    {"time": "2016-02-22T11:48:55Z", "type": "compute.host.down",
     "details": {"hostname": "compute1", "status": "down", "monitor": "zabbix1",
                 "monitor_event_id": "111"}},
    {"time": "2016-02-22T11:49:55Z", "type": "compute.host.down",
     "details": {"hostname": "compute2", "status": "up", "monitor": "zabbix1",
                 "monitor_event_id": "112"}},
]

VITRAGE_ALARM = {
    "notification": "vitrage.alarm.activate",
    "payload": {"vitrage_id": "a1", "name": "high cpu", "state": "Active",
                "vitrage_type": "vitrage", "vitrage_operational_severity": "WARNING",
                "update_timestamp": "2099-01-01T00:00:00Z",
                "resource": {"name": "vm1", "id": "r1", "vitrage_id": "rv1",
                             "project_id": "p1", "vitrage_operational_state": "OK",
                             "vitrage_type": "nova.instance"}}}


@pytest.fixture(scope="module")
def server(servers) -> CongressProcess:
    return servers("dsapi")


def rows_of(server: CongressProcess, path: str) -> list[list[Any]]:
    r = server.get(path)
    assert r.status == 200, r
    return sorted((x["data"] for x in r.json["results"]), key=repr)


def eventually_rows(server: CongressProcess, path: str, expected: list[list[Any]],
                    timeout: float = 10) -> None:
    expected = sorted(expected, key=repr)
    wait_for(lambda: server.get(path).status == 200 and rows_of(server, path) == expected,
             timeout=timeout, message=f"{path} == {expected}")


def create_ds(server: CongressProcess, body: dict[str, Any]) -> dict[str, Any]:
    r = server.post("/v1/data-sources", body)
    assert r.status == 201, r
    assert r.headers["Location"] == "/v1/data-sources/" + r.json["id"]
    return r.json


# --------------------------------------------------------------------------- drivers
def test_drivers(server):
    r = server.get("/v1/system/drivers")
    assert r.status == 200
    drivers = {d["id"]: d for d in r.json["results"]}
    assert {"push", "doctor", "fake_datasource", "vitrage", "nova", "neutronv2"} <= set(drivers)
    assert all(set(d) == {"id", "description"} and d["description"] for d in drivers.values())

    push = server.get("/v1/system/drivers/push").json
    assert push == {"id": "push", "description": drivers["push"]["description"],
                    "config": {"description": "required", "persist_data": "(optional)"},
                    "tables": [{"table_id": "data", "columns": []}]}
    doctor = server.get("/v1/system/drivers/doctor").json
    assert [c["name"] for c in doctor["tables"][0]["columns"]] == [
        "time", "type", "hostname", "status", "monitor", "monitor_event_id"]
    fake = server.get("/v1/system/drivers/fake_datasource").json
    assert fake["secret"] == ["password"]
    assert fake["config"]["username"] == "required"
    assert fake["config"]["region"] == "(optional)"
    assert fake["tables"] == [{"table_id": "fake_table", "columns": [
        {"name": "id", "description": None}, {"name": "name", "description": None}]}]

    assert_error(server.get("/v1/system/drivers/nosuch"), 404,
                 message="Not Found::Driver not found nosuch. Either not supported or "
                         "disabled by deployer in Congress config")
    assert_error(server.post("/v1/system/drivers", {}), 501)
    assert_error(server.delete("/v1/system/drivers/push"), 501)


# --------------------------------------------------------------------------- push
def test_push_datasource_rows_reach_policies(server):
    ds = create_ds(server, {"name": "pushds", "driver": "push", "description": "pushed rows",
                            "config": {"description": "inventory"}})
    assert ds == {"id": ds["id"], "name": "pushds", "driver": "push",
                  "description": "pushed rows", "type": None, "enabled": True,
                  "config": {"description": "inventory"}}
    assert server.get("/v1/data-sources/pushds").json == ds
    assert server.get("/v1/data-sources/" + ds["id"]).json == ds
    assert ds in server.get("/v1/data-sources").json["results"]

    assert server.get("/v1/data-sources/pushds/tables").json == {"results": [{"id": "data"}]}
    assert server.get("/v1/data-sources/pushds/tables/data").json == {"id": "data"}
    assert server.get("/v1/data-sources/pushds/tables/data/rows").json == {"results": []}
    assert server.get("/v1/data-sources/pushds/actions").json == {"results": []}

    # a policy reading the pushed table, before any data
    assert server.post("/v1/policies", {"name": "inv"}).status == 201
    for rule in ("big(x) :- pushds:data(x, y), gt(y, 10)", "known(x) :- pushds:data(x, y)"):
        assert server.post("/v1/policies/inv/rules", {"rule": rule}).status == 201, rule

    r = server.request("PUT", "/v1/data-sources/pushds/tables/data/rows",
                       [["a", 5], ["b", 50], ["c", 500]])
    assert r.status == 200 and r.raw == b""
    assert rows_of(server, "/v1/data-sources/pushds/tables/data/rows") == [
        ["a", 5], ["b", 50], ["c", 500]]
    eventually_rows(server, "/v1/policies/inv/tables/big/rows", [["b"], ["c"]])
    assert rows_of(server, "/v1/policies/inv/tables/known/rows") == [["a"], ["b"], ["c"]]
    assert rows_of(server, "/v1/policies/inv/tables/pushds:data/rows") == [
        ["a", 5], ["b", 50], ["c", 500]]

    # the width is now known: schema, spec and status say so
    cols = [{"name": "col0", "description": "inferred from the pushed data"},
            {"name": "col1", "description": "inferred from the pushed data"}]
    assert server.get("/v1/data-sources/pushds/schema").json == {
        "tables": [{"table_id": "data", "columns": cols}]}
    assert server.get("/v1/data-sources/pushds/tables/data/spec").json == {
        "table_id": "data", "columns": cols}
    status = server.get("/v1/data-sources/pushds/status").json
    assert status["initialized"] == "True" and status["last_error"] == "None"
    assert status["number_of_updates"] == "1"
    assert status["subscribers"] == ["__engine"]
    assert all(isinstance(v, str) for k, v in status.items()
               if k not in ("subscriptions", "subscribers"))

    # a PUT replaces the whole table; the derived tables follow
    r = server.request("PUT", "/v1/data-sources/pushds/tables/data/rows", [["d", 11]])
    assert r.status == 200
    eventually_rows(server, "/v1/policies/inv/tables/big/rows", [["d"]])
    assert rows_of(server, "/v1/policies/inv/tables/known/rows") == [["d"]]
    assert server.get("/v1/data-sources/pushds/status").json["number_of_updates"] == "2"
    # a row of another width is refused and changes nothing
    with unchanged(server):
        assert_error(server.request("PUT", "/v1/data-sources/pushds/tables/data/rows",
                                    [["e", 1, 2]]), 400,
                     message="Bad Request::Row 0 of table data has 3 values; table data has "
                             "2 columns", data=True)
    # [] empties it
    assert server.request("PUT", "/v1/data-sources/pushds/tables/data/rows", []).status == 200
    eventually_rows(server, "/v1/policies/inv/tables/known/rows", [])

    # request-refresh is accepted (nothing to poll); by name and by id
    for ref in ("pushds", ds["id"]):
        r = server.post(f"/v1/data-sources/{ref}?action=request-refresh")
        assert r.status == 200 and r.json is None

    # delete: the datasource, its service and its policy go; rules using it read nothing
    server.request("PUT", "/v1/data-sources/pushds/tables/data/rows", [["z", 99]])
    eventually_rows(server, "/v1/policies/inv/tables/big/rows", [["z"]])
    r = server.delete("/v1/data-sources/pushds")
    assert r.status == 200 and r.json is None
    assert_error(server.get("/v1/data-sources/pushds"), 404,
                 message="Not Found::Datasource not found pushds")
    assert_error(server.get("/v1/data-sources/pushds/tables/data/rows"), 404)
    assert all(d["name"] != "pushds" for d in server.get("/v1/data-sources").json["results"])
    eventually_rows(server, "/v1/policies/inv/tables/big/rows", [])
    assert server.get("/v1/policies/inv/rules").status == 200


def test_push_of_another_width_than_the_rules_read(server):
    """Emptied by ``[]``, the push table takes rows of any width; the engine refuses rows of a
    width the rules do not read: it holds none of the table (not the rows pushed before), the
    PUT does not wait for an application that never comes, and the table follows again once
    rows fit, or once the rules read the new width."""
    create_ds(server, {"name": "wide", "driver": "push", "config": {"description": "d"}})
    assert server.post("/v1/policies", {"name": "widths"}).status == 201
    assert server.post("/v1/policies/widths/rules",
                       {"rule": "one(x) :- wide:data(x)"}).status == 201
    put = "/v1/data-sources/wide/tables/data/rows"
    assert server.request("PUT", put, [["a"], ["b"]]).status == 200
    assert rows_of(server, "/v1/policies/widths/tables/one/rows") == [["a"], ["b"]]

    assert server.request("PUT", put, []).status == 200
    assert server.request("PUT", put, [["x", "y"]]).status == 200
    assert rows_of(server, put) == [["x", "y"]]
    assert rows_of(server, "/v1/policies/widths/tables/one/rows") == []
    # a delta after the refused rows: the engine fetches the whole table again
    assert server.request("PUT", put, [["x", "y"], ["z", "w"]]).status == 200
    assert server.request("PUT", put, []).status == 200
    assert server.request("PUT", put, [["c"]]).status == 200
    assert rows_of(server, "/v1/policies/widths/tables/one/rows") == [["c"]]

    # refused again, then the rules change to read two columns: the rows come without a push
    assert server.request("PUT", put, []).status == 200
    assert server.request("PUT", put, [["p", "q"]]).status == 200
    rule_id = server.get("/v1/policies/widths/rules").json["results"][0]["id"]
    assert server.delete(f"/v1/policies/widths/rules/{rule_id}").status == 200
    assert server.post("/v1/policies/widths/rules",
                       {"rule": "two(x, y) :- wide:data(x, y)"}).status == 201
    eventually_rows(server, "/v1/policies/widths/tables/two/rows", [["p", "q"]])

    log = server.log_tail(10_000_000)
    assert "data for wide:data rejected" in log
    assert "not yet applied by this node's engine" not in log
    assert server.delete("/v1/data-sources/wide").status == 200
    assert server.delete("/v1/policies/widths").status == 200


def test_rules_right_after_datasource_create_see_its_schema(server):
    """The engine learns of a new datasource by a broadcast; a rule with named columns sent
    right after the 201 must not fail with "schema is unknown" meanwhile."""
    assert server.post("/v1/policies", {"name": "quick"}).status == 201
    for i in range(8):
        create_ds(server, {"name": f"quick{i}", "driver": "doctor"})
        r = server.post("/v1/policies/quick/rules",
                        {"rule": f'q{i}(h) :- quick{i}:events(hostname=h, status="down")'})
        assert r.status == 201, r
    for i in range(8):
        assert server.delete(f"/v1/data-sources/quick{i}").status == 200


def test_datasource_policy_follows_create_and_delete_at_once(server):
    """The 201 of a datasource create means its policy answers on this node, and the 200 of a
    delete means it is gone: no window where the two disagree."""
    for i in range(5):
        create_ds(server, {"name": f"swift{i}", "driver": "doctor"})
        r = server.get(f"/v1/policies/swift{i}/tables")
        assert r.status == 200, r
        assert server.delete(f"/v1/data-sources/swift{i}").status == 200
        assert server.get(f"/v1/policies/swift{i}/tables").status == 404


# --------------------------------------------------------------------------- doctor
def test_doctor_datasource(server):
    ds = create_ds(server, {"name": "doc", "driver": "doctor", "config": {}})
    assert ds["config"] == {} and ds["description"] is None
    spec = server.get("/v1/data-sources/doc/tables/events/spec").json
    assert spec["table_id"] == "events"
    assert [c["name"] for c in spec["columns"]] == [
        "time", "type", "hostname", "status", "monitor", "monitor_event_id"]
    assert server.get("/v1/data-sources/doc/schema").json == {"tables": [spec]}

    assert server.post("/v1/policies", {"name": "hosts"}).status == 201
    r = server.post("/v1/policies/hosts/rules",
                    {"rule": 'down(h) :- doc:events(hostname=h, status="down")'})
    assert r.status == 201, r
    r = server.request("PUT", "/v1/data-sources/doc/tables/events/rows", DOCTOR_EVENTS)
    assert r.status == 200, r
    assert rows_of(server, "/v1/data-sources/doc/tables/events/rows") == [
        ["2016-02-22T11:48:55Z", "compute.host.down", "compute1", "down", "zabbix1", "111"],
        ["2016-02-22T11:49:55Z", "compute.host.down", "compute2", "up", "zabbix1", "112"]]
    eventually_rows(server, "/v1/policies/hosts/tables/down/rows", [["compute1"]])

    with unchanged(server):
        assert_error(server.request("PUT", "/v1/data-sources/doc/tables/nosuch/rows", []), 400,
                     message="Bad Request::translator: nosuch is not in the datasource driver")
        assert_error(server.request("PUT", "/v1/data-sources/doc/tables/events/rows",
                                    ["not an event"]), 400, contains="must be an object")
        assert_error(server.request("PUT", "/v1/data-sources/doc/tables/events/rows",
                                    {"time": "x"}), 400,
                     message="Bad Request::The request body must be a JSON array of rows")
        # doctor takes pushed rows, not webhooks
        assert_error(server.post("/v1/data-sources/doc/webhook", {"a": 1}), 400,
                     contains="does not accept webhooks")
        assert_error(server.get("/v1/data-sources/doc/tables/nosuch/spec"), 404,
                     message="Not Found::Table 'nosuch' for datasource 'doc' has no schema ")
        assert_error(server.get("/v1/data-sources/doc/tables/nosuch"), 404,
                     message="Not found")
        assert_error(server.get("/v1/data-sources/doc/tables/nosuch/rows"), 404,
                     message="Not Found::tablename 'nosuch' does not exist'")
        # rules can't be added to a datasource's policy
        assert_error(server.post("/v1/policies/doc/rules", {"rule": "p(1)"}), 400, 1019,
                     contains="Rules not permitted on non persisted policies.")
        # nor can a policy take its name
        assert_error(server.post("/v1/policies", {"name": "doc"}), 409)
    assert server.request("PUT", "/v1/data-sources/doc/tables/events/rows", []).status == 200
    eventually_rows(server, "/v1/policies/hosts/tables/down/rows", [])
    assert server.delete("/v1/data-sources/" + ds["id"]).status == 200


# --------------------------------------------------------------------------- fake, vitrage
def test_fake_datasource_secrets_actions_execute_webhook(server):
    ds = create_ds(server, {"name": "fake", "driver": "fake_datasource",
                            "config": FAKE_CONFIG})
    hidden = {**FAKE_CONFIG, "password": "<hidden>"}
    assert ds["config"] == hidden
    assert server.get("/v1/data-sources/fake").json["config"] == hidden
    listed = {d["name"]: d for d in server.get("/v1/data-sources").json["results"]}
    assert listed["fake"]["config"] == hidden
    assert b"s3cret" not in server.get("/v1/data-sources").raw

    actions = server.get("/v1/data-sources/fake/actions").json["results"]
    assert {"name": "fake_act", "args": [{"name": "server_id",
                                          "description": "server to act"}],
            "description": "fake action"} in actions
    assert [a["name"] for a in actions] == sorted(a["name"] for a in actions)

    for ref in ("fake", ds["id"]):
        r = server.post(f"/v1/data-sources/{ref}?action=execute",
                        {"name": "fake_act", "args": {"positional": ["s1"], "named": {}}})
        assert r.status == 200 and r.json == {}, r
    r = server.post("/v1/policies/classification?action=execute",
                    {"name": "fake:fake_act", "args": {"positional": ["s2"]}})
    assert r.status == 200 and r.json == {}, r

    r = server.post("/v1/data-sources/fake/webhook", {"event": "anything"})
    assert r.status == 200 and r.raw == b""

    # pushed rows through the translator
    r = server.request("PUT", "/v1/data-sources/fake/tables/fake_table/rows",
                       [{"id": "1", "name": "one"}, {"id": "2", "name": "two"}])
    assert r.status == 200, r
    assert rows_of(server, "/v1/data-sources/fake/tables/fake_table/rows") == [
        ["1", "one"], ["2", "two"]]
    assert server.post("/v1/data-sources/fake?action=request-refresh").status == 200
    status = server.get("/v1/data-sources/fake/status").json
    assert status["initialized"] == "True"

    with unchanged(server):
        for body, code, msg in (
                ({"name": 5}, 400, "Bad Request::Field 'name' must be a string"),
                ({}, 400, "Bad Request::Missing required field 'name'"),
                ({"name": "fake_act", "args": [1]}, 1018, None),
                ({"name": "fake_act", "args": {"keyword": {}}}, 1018, None),
                ({"name": "fake_act", "other": 1}, 400,
                 "Bad Request::Unknown field(s) in request body: other")):
            assert_error(server.post("/v1/data-sources/fake?action=execute", body), 400,
                         code, msg)
        assert_error(server.post("/v1/data-sources/nosuch?action=execute",
                                 {"name": "fake_act"}), 404,
                     message="Not Found::Datasource not found nosuch")
        assert_error(server.post("/v1/data-sources/fake?action=bogus", {}), 501)
        assert_error(server.post("/v1/data-sources/fake", {}), 400,
                     message="Missing required action parameter.")
        assert_error(server.post("/v1/data-sources/nosuch?action=request-refresh"), 404)
    assert server.delete("/v1/data-sources/fake").status == 200


def test_vitrage_webhook(server):
    ds = create_ds(server, {"name": "vit", "driver": "vitrage"})
    assert server.post("/v1/policies", {"name": "alarms"}).status == 201
    assert server.post("/v1/policies/alarms/rules", {
        "rule": 'warn(r) :- vit:alarms(resource_id=r, operational_severity="WARNING")'
    }).status == 201
    r = server.post(f"/v1/data-sources/{ds['id']}/webhook", VITRAGE_ALARM)
    assert r.status == 200 and r.raw == b"", r
    rows = rows_of(server, "/v1/data-sources/vit/tables/alarms/rows")
    assert len(rows) == 1 and rows[0][:6] == ["high cpu", "Active", "vitrage", "WARNING", "a1",
                                              "2099-01-01T00:00:00Z"]
    eventually_rows(server, "/v1/policies/alarms/tables/warn/rows", [["r1"]])
    with unchanged(server):
        err = assert_error(server.post("/v1/data-sources/vit/webhook", {"payload": {}}), 400,
                           contains="Vitrage alarm notification is missing", data=True)
        assert err["error_data"] == {"missing": ["payload.vitrage_id", "payload.resource"]}
        assert_error(server.post("/v1/data-sources/nosuch/webhook", {}), 404)
        assert_error(server.request("PUT", "/v1/data-sources/vit/webhook", {}), 501)
    assert server.delete("/v1/data-sources/vit").status == 200
    eventually_rows(server, "/v1/policies/alarms/tables/warn/rows", [])


# --------------------------------------------------------------------------- errors
CREATE_ERRORS: list[tuple[Any, int, str]] = [
    ({"name": "x", "driver": "nosuch"}, 400, "Bad Request::Invalid driver: nosuch"),
    ({"name": "x"}, 400, "Bad Request::Missing required field 'driver'"),
    ({"driver": "doctor"}, 400, "Bad Request::Missing required field 'name'"),
    ({"name": "", "driver": "doctor"}, 400,
     "Bad Request::Datasource name must be a non-empty string"),
    ({"name": "_x", "driver": "doctor"}, 400,
     "Bad Request::Datasource name _x is invalid: names starting with '_' are reserved"),
    ({"name": "a b", "driver": "doctor"}, 400, "~Datasource name a b is invalid"),
    ({"name": "a:b", "driver": "doctor"}, 400, "~Datasource name a:b is invalid"),
    ({"name": "x", "driver": "push", "config": {}}, 400,
     "Bad Request::Missing required config options: description"),
    ({"name": "x", "driver": "push"}, 400,
     "Bad Request::Missing required config options: description"),
    ({"name": "x", "driver": "push", "config": {"description": "d", "bogus": 1}}, 400,
     "Bad Request::Invalid driver options: bogus"),
    ({"name": "x", "driver": "push", "config": {"description": {"a": 1}}}, 400,
     "Bad Request::Field 'config' value of 'description' must be a string, number or boolean"),
    ({"name": "x", "driver": "push", "config": ["description"]}, 400,
     "Bad Request::Field 'config' must be a JSON object"),
    ({"name": "x", "driver": "doctor", "enabled": "yes"}, 400,
     "Bad Request::Field 'enabled' must be true or false"),
    ({"name": "x", "driver": "doctor", "description": 5}, 400,
     "Bad Request::Field 'description' must be a string"),
    ({"name": "x", "driver": "doctor", "colour": "red"}, 400,
     "Bad Request::Unknown field(s) in request body: colour"),
    ({"name": 3, "driver": "doctor"}, 400, "Bad Request::Field 'name' must be a string"),
    (["x"], 400, "Bad Request::The request body must be a JSON object"),
    ({"name": "taken", "driver": "doctor"}, 409,
     "Conflict::Datasource already in use with name taken"),
]


@pytest.mark.parametrize("body,status,message", CREATE_ERRORS,
                         ids=[str(i) for i in range(len(CREATE_ERRORS))])
def test_datasource_create_errors(server, body, status, message):
    if server.get("/v1/data-sources/taken").status == 404:
        create_ds(server, {"name": "taken", "driver": "doctor"})
    with unchanged(server):
        r = server.post("/v1/data-sources", body)
        exact = None if message.startswith("~") else message
        assert_error(r, status, contains=message[1:] if exact is None else None,
                     message=exact, data="options" in message)


@pytest.mark.parametrize("method,path,status", [
    ("GET", "/v1/data-sources/{u}", 404),
    ("DELETE", "/v1/data-sources/{u}", 404),
    ("GET", "/v1/data-sources/{u}/status", 404),
    ("GET", "/v1/data-sources/{u}/schema", 404),
    ("GET", "/v1/data-sources/{u}/actions", 404),
    ("GET", "/v1/data-sources/{u}/tables", 404),
    ("GET", "/v1/data-sources/{u}/tables/data", 404),
    ("GET", "/v1/data-sources/{u}/tables/data/rows", 404),
    ("PUT", "/v1/data-sources/{u}/tables/data/rows", 404),
    ("GET", "/v1/data-sources/{u}/tables/data/spec", 404),
    ("POST", "/v1/data-sources/{u}/webhook", 404),
    ("PUT", "/v1/data-sources/taken", 501),
    ("PATCH", "/v1/data-sources/taken", 501),
    ("DELETE", "/v1/data-sources", 501),
    ("GET", "/v1/data-sources/taken/tables/events/rows/1", 501),
    ("POST", "/v1/data-sources/taken/tables", 501),
])
def test_datasource_unknown_and_unsupported(server, method, path, status):
    if server.get("/v1/data-sources/taken").status == 404:
        create_ds(server, {"name": "taken", "driver": "doctor"})
    unknown = "nosuch-" + uuid.uuid4().hex[:6]
    with unchanged(server):
        body = [] if method == "PUT" and "rows" in path else ({} if method != "GET" and
                                                              method != "DELETE" else None)
        r = server.request(method, path.format(u=unknown), body)
        if status == 404:
            assert_error(r, 404, message=f"Not Found::Datasource not found {unknown}")
        else:
            assert_error(r, status, message="Method not supported")


def test_disabled_datasource(server):
    ds = create_ds(server, {"name": "off", "driver": "push", "enabled": False,
                            "config": {"description": "d"}})
    assert ds["enabled"] is False
    assert server.get("/v1/data-sources/off").json["enabled"] is False
    # no service runs for it
    assert_error(server.get("/v1/data-sources/off/tables"), 404,
                 message="Not Found::service 'off' could not be found")
    assert server.delete("/v1/data-sources/off").status == 200


def test_datasource_named_like_a_policy_is_refused(server):
    assert server.post("/v1/policies", {"name": "clash"}).status == 201
    try:
        with unchanged(server):
            r = server.post("/v1/data-sources", {"name": "clash", "driver": "doctor"})
            assert r.status == 409, r
    finally:
        server.delete("/v1/data-sources/clash")


def test_policy_named_like_a_datasource_is_refused(server):
    assert server.post("/v1/data-sources", {"name": "clash2", "driver": "doctor"}).status == 201
    try:
        with unchanged(server):
            r = server.post("/v1/policies", {"name": "clash2"})
            assert r.status == 409, r
            assert "datasource" in r.json["error"]["message"]
    finally:
        server.delete("/v1/data-sources/clash2")


# --------------------------------------------------------------------------- persistence
@pytest.mark.parametrize("backend", ["sqlite", "mariadb"])
def test_pushed_rows_survive_restart(servers, backend):
    db = MariaDBDatabase() if backend == "mariadb" else None
    try:
        srv = servers(f"persist-{backend}", db_url=db.url if db else None)
        kept = create_ds(srv, {"name": "kept", "driver": "push",
                               "config": {"description": "kept rows", "persist_data": True}})
        assert kept["config"]["persist_data"] is True
        create_ds(srv, {"name": "lost", "driver": "push", "config": {"description": "d"}})
        create_ds(srv, {"name": "docp", "driver": "doctor",
                        "config": {"persist_data": "true"}})
        assert srv.post("/v1/policies", {"name": "pp", "rules": [
            {"rule": "k(x, y) :- kept:data(x, y)"}, {"rule": "l(x) :- lost:data(x)"},
            {"rule": "d(h) :- docp:events(hostname=h)"}]}).status == 201
        assert srv.request("PUT", "/v1/data-sources/kept/tables/data/rows",
                           [["a", 1], ["b", 2.5], ["c", None], ["d", True]]).status == 200
        assert srv.request("PUT", "/v1/data-sources/lost/tables/data/rows",
                           [["x"]]).status == 200
        assert srv.request("PUT", "/v1/data-sources/docp/tables/events/rows",
                           DOCTOR_EVENTS).status == 200
        expected = rows_of(srv, "/v1/data-sources/kept/tables/data/rows")
        assert len(expected) == 4
        eventually_rows(srv, "/v1/policies/pp/tables/k/rows", expected)
        eventually_rows(srv, "/v1/policies/pp/tables/l/rows", [["x"]])

        srv.stop()
        srv.start()
        assert rows_of(srv, "/v1/data-sources/kept/tables/data/rows") == expected
        assert rows_of(srv, "/v1/data-sources/lost/tables/data/rows") == []
        assert [r[2] for r in rows_of(srv, "/v1/data-sources/docp/tables/events/rows")] == [
            "compute1", "compute2"]
        eventually_rows(srv, "/v1/policies/pp/tables/k/rows", expected)
        eventually_rows(srv, "/v1/policies/pp/tables/d/rows", [["compute1"], ["compute2"]])
        assert rows_of(srv, "/v1/policies/pp/tables/l/rows") == []
        # a replacement is persisted too, and an empty table stays empty
        assert srv.request("PUT", "/v1/data-sources/kept/tables/data/rows",
                           [["z", 26]]).status == 200
        assert srv.request("PUT", "/v1/data-sources/docp/tables/events/rows", []).status == 200
        srv.stop()
        srv.start()
        assert rows_of(srv, "/v1/data-sources/kept/tables/data/rows") == [["z", 26]]
        assert rows_of(srv, "/v1/data-sources/docp/tables/events/rows") == []
        eventually_rows(srv, "/v1/policies/pp/tables/k/rows", [["z", 26]])
        # deleting the datasource deletes its stored rows
        assert srv.delete("/v1/data-sources/kept").status == 200
        create_ds(srv, {"name": "kept", "driver": "push",
                        "config": {"description": "again", "persist_data": True}})
        assert rows_of(srv, "/v1/data-sources/kept/tables/data/rows") == []
        srv.stop()
    finally:
        if db is not None:
            db.drop()


@pytest.mark.parametrize("backend", ["sqlite", "mariadb"])
def test_pushed_change_survives_kill(servers, backend):
    """A PUT that changes one row of a big persisted table is stored as that change (a journal
    entry), and once acknowledged it survives kill -9, as the first full PUT does."""
    db = MariaDBDatabase() if backend == "mariadb" else None
    try:
        srv = servers(f"persist-delta-{backend}", db_url=db.url if db else None)
        create_ds(srv, {"name": "big", "driver": "doctor", "config": {"persist_data": "true"}})
        assert srv.post("/v1/policies", {"name": "pd", "rules": [
            {"rule": 'up(h) :- big:events(hostname=h, status="up")'}]}).status == 201
        events = [{"time": f"2026-12-05T00:00:{i % 60:02d}Z", "type": "compute.host.down",
                   "details": {"hostname": f"h{i}", "status": "down", "monitor": "m",
                               "monitor_event_id": str(i)}} for i in range(3000)]
        assert srv.request("PUT", "/v1/data-sources/big/tables/events/rows",
                           events).status == 200
        changed = list(events)
        changed[7] = {**events[7], "details": {**events[7]["details"], "status": "up"}}
        assert srv.request("PUT", "/v1/data-sources/big/tables/events/rows",
                           changed).status == 200
        before = sorted(rows_of(srv, "/v1/data-sources/big/tables/events/rows"))
        assert len(before) == 3000 and [r[2] for r in before if r[3] == "up"] == ["h7"]
        srv.kill()
        srv.start()
        assert sorted(rows_of(srv, "/v1/data-sources/big/tables/events/rows")) == before
        eventually_rows(srv, "/v1/policies/pd/tables/up/rows", [["h7"]])
        # the change went to the journal, the table itself was written once
        import sqlalchemy as sa
        url = db.url if db else "sqlite:///" + os.path.join(srv.state, "congress.sqlite")
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                nrows = [r[0] for r in conn.exec_driver_sql(
                    "SELECT nrows FROM dstabledeltas ORDER BY seq")]
        finally:
            engine.dispose()
        assert nrows == [0, 2]
        srv.stop()
    finally:
        if db is not None:
            db.drop()
