"""The fast pretty-printer writes exactly what json.dumps(indent=2) writes."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from congress.api.jsonfmt import dumps_pretty

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(),
                    st.floats(allow_nan=False, allow_infinity=False))
values = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=5), st.dictionaries(st.text(max_size=5), children, max_size=5)),
    max_leaves=30)


@settings(max_examples=500)
@given(values)
def test_same_as_json_dumps(obj):
    assert dumps_pretty(obj) == json.dumps(obj, indent=2)


def test_rows_shape_and_special_keys():
    obj = {"results": [{"data": ["a\u00e9\"", 1, 2.5, None, True]}, {"data": []}],
           1: "int key", 2.5: "float", None: 0, False: 1}
    assert dumps_pretty(obj) == json.dumps(obj, indent=2)
    assert dumps_pretty(("t", [1])) == json.dumps(("t", [1]), indent=2)


rows = st.lists(st.one_of(
    st.fixed_dictionaries({"data": st.lists(scalars, max_size=4)}),
    st.fixed_dictionaries({"data": st.lists(values, max_size=2)}),
    st.dictionaries(st.sampled_from(["data", "id"]), values, max_size=2)), max_size=6)


@settings(max_examples=300)
@given(rows)
def test_table_rows_same_as_json_dumps(results):
    """The rows template (one {"data": [scalars]} per element) and its fall-backs."""
    obj = {"results": results}
    assert dumps_pretty(obj) == json.dumps(obj, indent=2)
