"""GET /metrics: Prometheus text with request counts per route and status; behind keystone
unless metrics_unauthenticated."""

from __future__ import annotations

import falcon.testing
from prometheus_client.parser import text_string_to_metric_families

from congress.api.app import create_app
from tests.unit.api.conftest import make_conf
from tests.unit.api.test_auth import KEYSTONE_CONF


def samples(text: str, name: str) -> dict[tuple, float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name:
                out[tuple(sorted(s.labels.items()))] = s.value
    return out


def test_requests_are_counted_per_route_and_status(client) -> None:
    before = samples(client.simulate_get("/metrics").text, "congress_api_requests_total")
    client.simulate_get("/v1/policies")
    client.simulate_get("/v1/policies/nope/rules")
    client.simulate_get("/v1/no/such/thing")
    result = client.simulate_get("/metrics")
    assert result.status_code == 200
    assert result.headers["Content-Type"].startswith("text/plain; version=")
    after = samples(result.text, "congress_api_requests_total")

    def delta(route: str, status: str) -> float:
        key = (("method", "GET"), ("route", route), ("status", status))
        return after.get(key, 0) - before.get(key, 0)

    assert delta("/v1/policies", "200") == 1
    assert delta("/v1/policies/{policy_id}/rules", "404") == 1
    assert delta("unmatched", "404") == 1          # raw paths never become labels
    assert samples(result.text, "congress_api_request_seconds_count")


def test_metrics_need_a_token_in_keystone_mode_unless_told(tmp_path, backend) -> None:
    app = create_app(make_conf(tmp_path, KEYSTONE_CONF), backend)
    assert falcon.testing.TestClient(app).simulate_get("/metrics").status_code == 401
    conf_text = KEYSTONE_CONF + "[DEFAULT]\nmetrics_unauthenticated = true\n"
    app = create_app(make_conf(tmp_path, conf_text), backend)
    result = falcon.testing.TestClient(app).simulate_get("/metrics")
    assert result.status_code == 200 and "congress_api_requests_total" in result.text
    # /v1 still needs one
    assert falcon.testing.TestClient(app).simulate_get("/v1/policies").status_code == 401
