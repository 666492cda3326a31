"""/v1/openapi.json is generated from the route table: every route and method, its path
parameters, the request body schemas the API validates with."""

from __future__ import annotations

import jsonschema
import pytest

from congress.api.app import JSON_INGESTER_ROUTES, ROUTES, SYSTEM_ROUTES
from congress.api.openapi import METHODS, document


@pytest.fixture
def doc(client) -> dict:
    result = client.simulate_get("/v1/openapi.json")
    assert result.status_code == 200
    return result.json


def test_every_route_and_method_is_an_operation(doc) -> None:
    assert doc["openapi"] == "3.1.0"
    for template, cls in ROUTES + SYSTEM_ROUTES:
        methods = {m for m in METHODS if getattr(cls, f"on_{m}", None) is not None}
        if not methods:             # row elements: every method is 501
            assert template not in doc["paths"]
            continue
        assert set(doc["paths"][template]) == methods, template
        for op in doc["paths"][template].values():
            names = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert names == {part[1:-1] for part in template.split("/")
                             if part.startswith("{")}
            assert op["responses"]["default"]["content"]["application/json"]["schema"]
    # the JSON ingester route only when it is enabled
    assert JSON_INGESTER_ROUTES[0][0] not in doc["paths"]
    assert JSON_INGESTER_ROUTES[0][0] in document(ROUTES + JSON_INGESTER_ROUTES)["paths"]


def test_body_schemas_are_valid_and_agree_with_the_api(doc, client) -> None:
    rules_op = doc["paths"]["/v1/policies/{policy_id}/rules"]["post"]
    schema = rules_op["requestBody"]["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator.check_schema(schema)
    good = {"rule": "p(x) :- q(x)", "comment": "c"}
    bad = {"rule": "p(x) :- q(x)", "comment": "c" * 256}
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    import json
    assert client.simulate_post("/v1/policies/classification/rules",
                                body=json.dumps(good)).status_code == 201
    assert client.simulate_post("/v1/policies/classification/rules",
                                body=json.dumps(bad)).status_code == 400
    for path in doc["paths"].values():
        for op in path.values():
            body = op.get("requestBody")
            if body:
                jsonschema.Draft202012Validator.check_schema(
                    body["content"]["application/json"]["schema"])
