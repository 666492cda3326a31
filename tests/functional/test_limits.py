"""Operator limits on a real all-in-one server: a rule deriving the cross product of a
1,000-row table is refused with 400 and nothing of it is stored or evaluated."""

from __future__ import annotations

import time

import pytest

from tests.functional.conftest import assert_error
from tests.functional.harness import wait_for

pytestmark = pytest.mark.functional


@pytest.fixture(scope="module")
def srv(servers):
    return servers("limits", extra={"DEFAULT": {"max_derived_rows": 100_000}})


def test_cross_product_of_1000_rows_is_refused_and_rolled_back(srv) -> None:
    r = srv.post("/v1/data-sources", {"name": "inv", "driver": "push",
                                      "config": {"description": "rows", "persist_data": "true"}})
    assert r.status == 201, r
    rows = [[f"h{i}"] for i in range(1000)]
    r = srv.request("PUT", "/v1/data-sources/inv/tables/data/rows", rows)
    assert r.status == 200, r
    r = srv.post("/v1/policies/classification/rules", {"rule": "host(x) :- inv:data(x)"})
    assert r.status == 201, r
    # the engine absorbs a push after the PUT answers: the refusal below is the rule's only
    # once host holds the 1,000 rows (else the rows' arrival is what gets refused)
    wait_for(lambda: len((srv.get("/v1/policies/classification/tables/host/rows").json
                          or {}).get("results", ())) == 1000, timeout=30,
             message="1,000 rows of classification:host")
    rules_before = srv.get("/v1/policies/classification/rules").json["results"]

    started = time.monotonic()
    r = srv.post("/v1/policies/classification/rules",
                 {"rule": "pair(x, y) :- host(x), inv:data(y)"})
    took = time.monotonic() - started
    err = assert_error(r, 400, data=True)
    assert err["message"] == ("Bad Request::Refused: table classification:pair would hold more "
                              "than 100000 rows (the limit on rows a table may derive); nothing "
                              "was changed")
    assert err["error_data"] == {"policy": "classification", "table": "pair", "limit": 100_000}
    print(f"\n1M-row cross product refused in {took * 1000:.0f} ms")

    assert srv.get("/v1/policies/classification/rules").json["results"] == rules_before
    assert srv.get("/v1/policies/classification/tables/pair/rows").status == 404
    # a policy created with the same rule is refused as a whole: no policy either
    r = srv.post("/v1/policies", {"name": "pairs", "rules": [
        {"rule": "one(x) :- inv:data(x)"}, {"rule": "pair(x, y) :- one(x), inv:data(y)"}]})
    assert_error(r, 400, data=True)
    assert srv.get("/v1/policies/pairs").status == 404
    # the engine still evaluates, and after a restart nothing of the refused rules comes back
    r = srv.post("/v1/policies/classification/rules",
                 {"rule": 'pair(x, y) :- host(x), inv:data(y), equal(x, "h1")'})
    assert r.status == 201, r
    assert len(srv.get("/v1/policies/classification/tables/pair/rows").json["results"]) == 1000
    # a simulate that would derive the cross product stops too, and leaves nothing behind
    r = srv.post("/v1/policies/classification?action=simulate", {
        "query": "pair2(x, y)", "sequence": "pair2+(x, y) :- host(x), inv:data(y)",
        "action_policy": "action"})
    err = assert_error(r, 400, error_code=1007, data=True)     # the original's simulate code
    assert err["message"].startswith("Error in simulate procedure::Refused: table "
                                     "classification:pair2 would hold more than 100000 rows")
    assert err["error_data"]["table"] == "pair2"
    assert srv.get("/v1/policies/classification/tables/pair2/rows").status == 404
    # the 1,000 rows read in pages
    got, marker, pages = [], None, 0
    while True:
        query = "?limit=300" + (f"&marker={marker}" if marker else "")
        body = srv.get("/v1/policies/classification/tables/pair/rows" + query).json
        got += [tuple(r["data"]) for r in body["results"]]
        pages += 1
        marker = body.get("next_marker")
        if marker is None:
            break
    assert pages == 4 and len(set(got)) == 1000
    srv.stop()
    srv.start()
    texts = sorted(x["rule"] for x in srv.get("/v1/policies/classification/rules")
                   .json["results"])
    assert len(texts) == len(rules_before) + 1


def metric_samples(srv) -> list:
    """The samples ``/metrics`` serves now (name, labels, value ...)."""
    from prometheus_client.parser import text_string_to_metric_families

    r = srv.get("/metrics")
    assert r.status == 200, r
    return [s for family in text_string_to_metric_families(r.raw.decode())
            for s in family.samples]


def test_metrics_of_a_live_server(srv) -> None:
    if srv.proc is None or srv.proc.poll() is not None:
        srv.start()
    assert srv.request("PUT", "/v1/data-sources/inv/tables/data/rows", [["m1"]]).status == 200
    assert srv.post("/v1/policies/classification/rules",
                    {"rule": "seen(x) :- inv:data(x)"}).status == 201
    found = {}
    for s in metric_samples(srv):
        found.setdefault(s.name, []).append((s.labels, s.value))
    rows = {lab["policy"]: v for lab, v in found["congress_policy_rows"]}
    assert rows["inv"] >= 1 and rows["classification"] >= 1
    ages = {lab["datasource"]: v for lab, v in found["congress_datasource_update_age_seconds"]}
    assert 0 <= ages["inv"] < 60
    assert any(lab["datasource"] == "inv" and v >= 1
               for lab, v in found["congress_engine_data_update_seconds_count"])
    assert any(lab == {"route": "/v1/data-sources/{ds_id}/tables/{table_id}/rows",
                       "method": "PUT", "status": "200"} and v >= 1
               for lab, v in found["congress_api_requests_total"])
    assert found["congress_engine_change_seconds_count"][0][1] >= 1
    # the all-in-one server runs the drivers too: their polls and pushes
    assert {lab["name"]: v for lab, v in found["congress_datasource_updates"]}["inv"] >= 1
    assert {lab["name"]: v for lab, v in found["congress_datasource_failing"]}["inv"] == 0
    assert 0 <= {lab["name"]: v for lab, v in
                 found["congress_datasource_poll_age_seconds"]}["inv"] < 60
    # the garbage collector's pauses (a server of this size has collected by now)
    assert sum(v for _, v in found["congress_gc_pause_seconds_count"]) >= 1


def test_a_deleted_datasource_leaves_no_metric_series(srv) -> None:
    """The per-datasource series go with the datasource: a cloud that creates and deletes
    datasources under new names does not keep (and scrape) one histogram per name ever used."""
    def labelled(name: str) -> set[str]:
        return {s.name for s in metric_samples(srv)
                if name in (s.labels.get("datasource"), s.labels.get("service"))}

    if srv.proc is None or srv.proc.poll() is not None:
        srv.start()
    r = srv.post("/v1/data-sources", {"name": "brief", "driver": "push",
                                      "config": {"description": "rows"}})
    assert r.status == 201, r
    r = srv.post("/v1/policies/classification/rules", {"rule": "briefly(x) :- brief:data(x)"})
    assert r.status == 201, r
    assert srv.request("PUT", "/v1/data-sources/brief/tables/data/rows", [["b1"]]).status == 200
    wait_for(lambda: "congress_engine_data_update_seconds_count" in labelled("brief"),
             message="the engine's series of datasource brief")
    assert srv.request("DELETE", "/v1/data-sources/brief").status == 200
    wait_for(lambda: not labelled("brief"), message="no series of datasource brief")
    assert "congress_engine_data_update_seconds_count" in labelled("inv")      # the others stay
