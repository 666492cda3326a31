"""Schemathesis hooks for tests/functional/test_openapi.py (loaded through SCHEMATHESIS_HOOKS).

* ``no_server_error``: no answer is a 5xx, except the one 5xx the API documents for requests
  it cannot serve by design: 501 ``Method not supported`` (an HTTP method or ``?action=`` the
  resource does not have, as OpenStack Congress answered; RFC 9110 names 501 for methods a
  server does not recognize). It must still be the error envelope.
* path parameters are sometimes replaced by names that exist on the test server, so that
  fuzzing reaches the engine and the datasource node, not only 404s.
"""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st

EXISTING = {
    "policy_id": ["classification", "action", "fuzzed"],
    "ds_id": ["inv"],
    "table_id": ["data", "host", "p"],
    "driver_id": ["push", "doctor"],
}


@schemathesis.check
def no_server_error(ctx, response, case) -> None:
    if response.status_code < 500:
        return
    if response.status_code == 501:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("error", {}).get("message") == \
                "Method not supported":
            return
    raise AssertionError(f"{response.status_code} from {case.method} {case.formatted_path}: "
                         f"{response.text[:300]}")


@schemathesis.hook
def flatmap_path_parameters(ctx, path_parameters):
    if not path_parameters:
        return st.just(path_parameters)
    return st.fixed_dictionaries({
        name: st.sampled_from([*EXISTING.get(name, []), value])
        for name, value in path_parameters.items()})
