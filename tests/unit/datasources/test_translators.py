"""Translators: JSON/objects -> Datalog rows, schema generation, validation and data errors."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from congress.datasources import translator_format as fmt
from congress.datasources import translators as tr
from congress.datasources import values
from congress.datasources.translators import (
    DICT_SELECTOR,
    DOT_SELECTOR,
    HDICT,
    LIST,
    VALUE,
    VDICT,
    Translator,
    TranslatorSet,
    normalize_value,
)
from congress.exceptions import TranslatorError

V = {"translation-type": VALUE}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))


def ref_hash(values_) -> str:
    """Independent statement of the row id OpenStack Congress computed (kept, so ids stay
    stable): md5 of a canonical JSON of the values."""
    s = json.dumps(sorted(values_, key=lambda x: str(type(x)) + repr(x)), sort_keys=True)
    return hashlib.md5(s.encode("ascii")).hexdigest()


def md5(text: str) -> str:
    return hashlib.md5(text.encode("ascii")).hexdigest()


def hdict(table, fields, selector=DICT_SELECTOR, **kw):
    spec = {"translation-type": HDICT, "table-name": table, "selector-type": selector,
            "field-translators": tuple(fields)}
    spec.update(kw)
    return spec


def field(name, translator=V, **kw):
    d = {"fieldname": name, "translator": translator}
    d.update(kw)
    return d


def names(schema_cols):
    return [c["name"] for c in schema_cols]


class Obj:
    """A client-style object read with DOT_SELECTOR."""

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)


# =========================================================================== constants
def test_constants_and_params():
    assert (HDICT, VDICT, LIST, VALUE) == ("HDICT", "VDICT", "LIST", "VALUE")
    assert (DICT_SELECTOR, DOT_SELECTOR) == ("DICT_SELECTOR", "DOT_SELECTOR")
    assert fmt.HDICT_PARAMS == ("translation-type", "table-name", "parent-key", "id-col",
                               "selector-type", "field-translators", "in-list",
                               "parent-col-name", "objects-extract-fn", "parent-key-desc")
    assert fmt.VDICT_PARAMS == ("translation-type", "table-name", "parent-key", "id-col",
                               "key-col", "val-col", "translator", "parent-col-name",
                               "objects-extract-fn")
    assert fmt.LIST_PARAMS == ("translation-type", "table-name", "parent-key", "id-col",
                              "val-col", "translator", "parent-col-name",
                              "objects-extract-fn", "parent-key-desc", "val-col-desc")
    assert fmt.VALUE_PARAMS == ("translation-type", "extract-fn", "data-type", "nullable")
    assert fmt.FIELD_TRANSLATOR_PARAMS == ("fieldname", "col", "desc", "translator")


# =========================================================================== normalize_value
@pytest.mark.parametrize("raw,expected", [
    ("abc", "abc"),
    ("", ""),
    (0, 0),
    (-7, -7),
    (2.5, 2.5),
    (True, "True"),
    (False, "False"),
    (None, "None"),
    ([1, 2], "[1, 2]"),
    ({"a": 1}, "{'a': 1}"),
    ((1, "x"), "(1, 'x')"),
    (b"ab", "b'ab'"),
    ("café ünïcode ✓", "café ünïcode ✓"),     # kept (OpenStack Congress dropped non-ASCII)
])
def test_normalize_value(raw, expected):
    out = normalize_value(raw)
    assert out == expected
    assert type(out) is type(expected)


def test_normalize_value_subclasses_become_base_types():
    class S(str):
        pass

    class I(int):  # noqa: E742
        pass

    class F(float):
        pass

    for raw, base in ((S("x"), str), (I(3), int), (F(1.5), float)):
        out = normalize_value(raw)
        assert type(out) is base
        assert out == raw


def test_translators_module_reexports_normalize_value():
    assert tr.normalize_value is values.normalize_value


# =========================================================================== HDICT
def test_hdict_dict_selector_column_order_and_names():
    t = Translator(hdict("t", [field("b", col="col_b", desc="B!"), field("a"), field("c")]))
    assert t.table_name == "t"
    assert t.tables() == ["t"]
    assert t.schema() == {"t": [{"name": "col_b", "desc": "B!"}, {"name": "a", "desc": None},
                                {"name": "c", "desc": None}]}
    rows = t.translate([{"a": 1, "b": "x", "c": 2.5}, {"a": 2, "b": "y", "c": None}])
    assert rows == {"t": {("x", 1, 2.5), ("y", 2, "None")}}


def test_hdict_missing_field_is_none():
    t = Translator(hdict("t", [field("f1", col="c1"), field("f2", col="c2")]))
    assert t.translate([{"f1": "FOO"}]) == {"t": {("FOO", "None")}}


def test_hdict_dot_selector_on_objects():
    t = Translator(hdict("t", [field("testfield1", col="col1"), field("testfield2", col="col2"),
                               field("missing")], selector=DOT_SELECTOR))
    objs = [Obj(testfield1="FOO", testfield2=123), SimpleNamespace(testfield1="BAR",
                                                                    testfield2=True)]
    assert t.translate(objs) == {"t": {("FOO", 123, "None"), ("BAR", "True", "None")}}


def test_hdict_dot_selector_reads_properties_and_odd_attribute_names():
    class Server:
        @property
        def status(self):
            return "ACTIVE"

    s = Server()
    setattr(s, "OS-EXT-AZ:availability_zone", "nova")
    t = Translator(hdict("servers", [field("status"),
                                     field("OS-EXT-AZ:availability_zone", col="zone")],
                         selector=DOT_SELECTOR))
    assert t.translate([s]) == {"servers": {("ACTIVE", "nova")}}


def test_hdict_dot_selector_accepts_dict_subclass_with_attributes():
    class Munch(dict):
        def __getattr__(self, k):
            try:
                return self[k]
            except KeyError:
                raise AttributeError(k) from None

    t = Translator(hdict("t", [field("a"), field("b")], selector=DOT_SELECTOR))
    assert t.translate([Munch(a=1)]) == {"t": {(1, "None")}}


def test_hdict_dict_selector_accepts_mappings_and_duck_typed_mappings():
    from collections import OrderedDict, UserDict

    class Bag:
        def __init__(self, d):
            self.d = d

        def __getitem__(self, k):
            return self.d[k]

        def __contains__(self, k):
            return k in self.d

    t = Translator(hdict("t", [field("a"), field("b")]))
    rows = t.translate([OrderedDict(a=1, b=2), UserDict(a=3), Bag({"b": 4})])
    assert rows == {"t": {(1, 2), (3, "None"), ("None", 4)}}


def test_value_extract_fn_dict_and_object():
    t = Translator(hdict("t", [
        field("testfield1", col="col1",
              translator={"translation-type": VALUE, "extract-fn": lambda x: x["a"]}),
        field("testfield2", col="col2",
              translator={"translation-type": VALUE, "extract-fn": lambda x: x.b}),
        field("testfield3", col="col3")], selector=DOT_SELECTOR, **{"id-col": "id_col"}))
    obj = Obj(testfield1={"a": "FOO"}, testfield2=Obj(b=123), testfield3=456)
    k = ref_hash(("FOO", 123, 456))
    assert t.translate([obj]) == {"t": {(k, "FOO", 123, 456)}}
    assert names(t.schema()["t"]) == ["id_col", "col1", "col2", "col3"]


def test_extract_fn_is_called_for_missing_fields_too():
    def safe_id(x):
        if isinstance(x, str):
            return x
        try:
            return x["id"]
        except Exception:
            return str(x)

    t = Translator(hdict("servers", [
        field("id"), field("image", col="image_id",
                           translator={"translation-type": VALUE, "extract-fn": safe_id})]))
    rows = t.translate([{"id": "s1", "image": {"id": "img"}}, {"id": "s2", "image": "img2"},
                        {"id": "s3"}])
    assert rows["servers"] == {("s1", "img"), ("s2", "img2"), ("s3", "None")}


def test_extract_fn_result_is_normalized():
    t = Translator(hdict("t", [field("x", translator={"translation-type": VALUE,
                                                       "extract-fn": lambda x: [x, x]})]))
    assert t.translate([{"x": 1}]) == {"t": {("[1, 1]",)}}


def test_unhashable_and_odd_values_become_strings():
    t = Translator(hdict("t", [field("l"), field("d"), field("b"), field("n"), field("u")]))
    rows = t.translate([{"l": [1, 2], "d": {"k": "v"}, "b": False, "n": None, "u": "ü"}])
    assert rows == {"t": {("[1, 2]", "{'k': 'v'}", "False", "None", "ü")}}
    for row in rows["t"]:
        assert all(type(v) in (str, int, float) for v in row)


def test_hdict_id_col_hash_matches_original_canonicalisation():
    t = Translator(hdict("t", [field("a"), field("b"), field("c")], **{"id-col": "id"}))
    rows = t.translate([{"a": "FOO", "b": 123, "c": True}])
    # values sorted by str(type) + repr: ints before strs; True is already "True"
    expected = md5('[123, "FOO", "True"]')
    assert expected == ref_hash((123, "FOO", "True"))
    assert rows == {"t": {(expected, "FOO", 123, "True")}}
    assert tr.compute_hash([]) == md5("[]")


def test_hdict_id_col_function():
    t = Translator(hdict("t", [field("field1", desc="test-field-1"),
                               field("field2", desc="test-field-2")],
                         **{"id-col": lambda obj: "id:" + obj["field1"]}))
    assert t.schema() == {"t": [{"name": "id-col", "desc": None},
                                {"name": "field1", "desc": "test-field-1"},
                                {"name": "field2", "desc": "test-field-2"}]}
    assert t.translate([{"field1": "x", "field2": 2}]) == {"t": {("id:x", "x", 2)}}


def test_id_is_stable_across_processes():
    code = (
        "from congress.datasources.translators import Translator\n"
        "t = Translator({'translation-type': 'LIST', 'table-name': 't', 'id-col': 'id',"
        " 'val-col': 'v', 'translator': {'translation-type': 'VALUE'}})\n"
        "print({row[0] for row in t.translate([['b', 'a', 3, 1.5, True]])['t']}.pop())\n")
    outs = set()
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True, cwd=ROOT)
        outs.add(out.stdout.strip())
    assert outs == {ref_hash([1.5, 3, "True", "a", "b"])}


def test_hdict_with_list_subtables_by_id():
    t = Translator(hdict("testtable", [
        field("testfield1", col="col1",
              translator={"translation-type": LIST, "table-name": "subtable1", "id-col": "id",
                          "val-col": "value", "translator": V}),
        field("testfield2", col="col2",
              translator={"translation-type": LIST, "table-name": "subtable2", "id-col": "id",
                          "val-col": "value", "translator": V})], selector=DOT_SELECTOR))
    rows = t.translate([Obj(testfield1=("FOO", "BAR"), testfield2=(1, 2, 3))])
    k1, k2 = ref_hash(("FOO", "BAR")), ref_hash((1, 2, 3))
    assert rows == {"testtable": {(k1, k2)},
                    "subtable1": {(k1, "FOO"), (k1, "BAR")},
                    "subtable2": {(k2, 1), (k2, 2), (k2, 3)}}
    assert t.tables() == ["testtable", "subtable1", "subtable2"]


def test_hdict_with_vdict_subtables_by_id():
    sub = {"translation-type": VDICT, "table-name": "subtable1", "id-col": "id",
           "key-col": "key", "val-col": "value", "translator": V}
    t = Translator(hdict("testtable", [field("testfield1", col="col1", translator=sub)]))
    rows = t.translate([{"testfield1": {"a": 123, "b": 456}}])
    k1 = ref_hash((("a", 123), ("b", 456)))
    assert rows == {"testtable": {(k1,)}, "subtable1": {(k1, "a", 123), (k1, "b", 456)}}


def test_hdict_with_hdict_subtables_by_id():
    sub1 = hdict("subtable1", [field("a", col="a1"), field("b", col="b1")], **{"id-col": "id"})
    sub2 = hdict("subtable2", [field("c", col="c1"), field("d", col="d1")], **{"id-col": "id"})
    t = Translator(hdict("testtable", [field("testfield1", col="col1", translator=sub1),
                                       field("testfield2", col="col2", translator=sub2)],
                         selector=DOT_SELECTOR))
    rows = t.translate([Obj(testfield1={"a": 123, "b": 456},
                            testfield2={"c": "abc", "d": "def"})])
    k1, k2 = ref_hash((123, 456)), ref_hash(("abc", "def"))
    assert rows == {"testtable": {(k1, k2)}, "subtable1": {(k1, 123, 456)},
                    "subtable2": {(k2, "abc", "def")}}


def test_id_child_of_none_value_gets_empty_hash_and_no_rows():
    sub = {"translation-type": LIST, "table-name": "sub", "id-col": "id", "val-col": "v",
           "translator": V}
    t = Translator(hdict("t", [field("name"), field("items", translator=sub)]))
    rows = t.translate([{"name": "x", "items": None}, {"name": "y"}])
    assert rows == {"t": {("x", md5("[]")), ("y", md5("[]"))}, "sub": set()}


def test_mixed_columns_keep_declared_order():
    sub = {"translation-type": LIST, "table-name": "sub", "id-col": "id", "val-col": "v",
           "translator": V}
    t = Translator(hdict("t", [
        field("e", translator={"translation-type": VALUE, "extract-fn": lambda x: x * 2}),
        field("l", translator=sub),
        field("p"),
        field("q", translator={"translation-type": VALUE, "data-type": "Int"}),
    ]))
    assert names(t.schema()["t"]) == ["e", "l", "p", "q"]
    rows = t.translate([{"e": 2, "l": ["z"], "p": "plain", "q": 3.0}])
    assert rows["t"] == {(4, ref_hash(["z"]), "plain", 3)}


# =========================================================================== parent-key
def test_hdict_hdict_parent_key_without_and_with_id():
    sub = hdict("subtable", [field("f1")], **{"parent-key": "foreign-key"})
    for extra, expect_row in (({}, (100,)), ({"id-col": "id"}, (ref_hash((100,)), 100))):
        t = Translator(hdict("testtable", [field("foreign-key"), field("foo", translator=sub)],
                             **extra))
        rows = t.translate([{"foreign-key": 100, "foo": {"f1": 123}}])
        assert rows == {"testtable": {expect_row}, "subtable": {(100, 123)}}
        assert t.schema()["subtable"] == [{"name": "parent_key", "desc": None},
                                          {"name": "f1", "desc": None}]
        # the parent has no column for a parent-key sub-translator
        assert "foo" not in names(t.schema()["testtable"])


def test_hdict_vdict_parent_key_without_and_with_id():
    sub = {"translation-type": VDICT, "table-name": "subtable", "parent-key": "foreign-key",
           "key-col": "key_col", "val-col": "val_col", "translator": V}
    for extra, expect_row in (({}, (100,)), ({"id-col": "id"}, (ref_hash((100,)), 100))):
        t = Translator(hdict("testtable", [field("foreign-key"), field("foo", translator=sub)],
                             selector=DOT_SELECTOR, **extra))
        rows = t.translate([Obj(**{"foreign-key": 100, "foo": {"f1": 123, "f2": 456}})])
        assert rows == {"testtable": {expect_row},
                        "subtable": {(100, "f1", 123), (100, "f2", 456)}}
        assert names(t.schema()["subtable"]) == ["parent_key", "key_col", "val_col"]


def test_hdict_list_parent_key_without_and_with_id():
    sub = {"translation-type": LIST, "table-name": "subtable", "parent-key": "foreign-key",
           "val-col": "val_col", "translator": V}
    for extra, expect_row in (({}, (100,)), ({"id-col": "id"}, (ref_hash((100,)), 100))):
        t = Translator(hdict("testtable", [field("foreign-key"), field("foo", translator=sub)],
                             selector=DOT_SELECTOR, **extra))
        rows = t.translate([Obj(**{"foreign-key": 100, "foo": (1, 2)})])
        assert rows == {"testtable": {expect_row}, "subtable": {(100, 1), (100, 2)}}


def test_parent_key_child_declared_before_its_key_column():
    sub = {"translation-type": LIST, "table-name": "tags", "parent-key": "id",
           "val-col": "tag", "translator": V}
    t = Translator(hdict("t", [field("tags", translator=sub), field("id")]))
    assert t.translate([{"id": "x", "tags": ["a"]}]) == {"t": {("x",)}, "tags": {("x", "a")}}


def test_tables_follow_declared_order_parents_first():
    a = {"translation-type": LIST, "table-name": "A", "parent-key": "id", "val-col": "v",
         "translator": V}
    b = hdict("B", [field("x"), field("deep", translator={
        "translation-type": LIST, "table-name": "B.deep", "id-col": "i", "val-col": "v",
        "translator": V})], **{"id-col": "bid"})
    c = {"translation-type": VDICT, "table-name": "C", "parent-key": "id", "key-col": "k",
         "val-col": "v", "translator": V}
    t = Translator(hdict("t", [field("a", translator=a), field("id"), field("b", translator=b),
                               field("c", translator=c)]))
    assert t.tables() == ["t", "A", "B", "B.deep", "C"]
    assert list(t.schema()) == ["t", "A", "B", "B.deep", "C"]
    assert names(t.schema()["t"]) == ["id", "b"]


def test_parent_key_none_value_gives_no_rows():
    sub = {"translation-type": LIST, "table-name": "tags", "parent-key": "id",
           "val-col": "tag", "translator": V}
    t = Translator(hdict("t", [field("id"), field("tags", translator=sub)]))
    assert t.translate([{"id": "x"}, {"id": "y", "tags": None}, {"id": "z", "tags": []}]) == {
        "t": {("x",), ("y",), ("z",)}, "tags": set()}


def test_parent_col_name_and_descs():
    level2 = {"translation-type": LIST, "table-name": "level2", "parent-key": "id",
              "parent-key-desc": "level1_parent-desc", "parent-col-name": "level1_id",
              "val-col": "level_1_data", "val-col-desc": "level_1_desc", "translator": V}
    t = Translator(hdict("level1", [field("id"), field("level2", translator=level2)]))
    assert t.schema() == {
        "level1": [{"name": "id", "desc": None}],
        "level2": [{"name": "level1_id", "desc": "level1_parent-desc"},
                   {"name": "level_1_data", "desc": "level_1_desc"}]}
    assert t.translate([{"id": 11, "level2": ["thing"]}]) == {
        "level1": {(11,)}, "level2": {(11, "thing")}}


def test_parent_col_name_in_hdict_and_vdict():
    h = hdict("level2", [field("thing")], **{"parent-key": "id", "parent-col-name": "level1_id"})
    t = Translator(hdict("level1", [field("id"), field("level2", translator=h)]))
    assert names(t.schema()["level2"]) == ["level1_id", "thing"]
    assert t.translate([{"id": 11, "level2": {"thing": "blah!"}}]) == {
        "level1": {(11,)}, "level2": {(11, "blah!")}}

    vd = {"translation-type": VDICT, "table-name": "level2", "parent-key": "id",
          "key-col": "id", "val-col": "value", "parent-col-name": "level1_id", "translator": V}
    t = Translator(hdict("level1", [field("id"), field("level2", translator=vd)]))
    assert names(t.schema()["level2"]) == ["level1_id", "id", "value"]
    assert t.translate([{"id": 11, "level2": {"thing": "blah!"}}]) == {
        "level1": {(11,)}, "level2": {(11, "thing", "blah!")}}


def test_nested_parent_keys_three_levels():
    level3 = hdict("level3", [field("level3_thing")],
                   **{"parent-key": "parent_key", "in-list": True})
    level2 = hdict("level2", [field("thing"), field("level3", translator=level3)],
                   **{"parent-key": "id"})
    level1 = hdict("level1", [field("id"), field("level2", translator=level2)])
    t = Translator(level1)
    assert t.tables() == ["level1", "level2", "level3"]
    rows = t.translate([{"id": 11, "level2": {"thing": "blah!",
                                              "level3": [{"level3_thing": "12345"}]}}])
    assert rows == {"level1": {(11,)}, "level2": {(11, "blah!")}, "level3": {(11, "12345")}}


def test_nested_mixed_id_and_parent_key_four_levels():
    # servers -> interfaces (parent-key) -> ips (id-col list) ; interfaces -> meta (parent-key
    # on the interface's own column)
    ips = {"translation-type": LIST, "table-name": "ips", "id-col": "ips_id", "val-col": "ip",
           "translator": V}
    meta = {"translation-type": VDICT, "table-name": "meta", "parent-key": "mac",
            "key-col": "k", "val-col": "v", "translator": V}
    ifaces = hdict("ifaces", [field("mac"), field("ips", translator=ips),
                              field("meta", translator=meta)],
                   **{"parent-key": "id", "parent-col-name": "server_id", "in-list": True})
    t = Translator(hdict("servers", [field("id"), field("ifaces", translator=ifaces)]))
    assert t.schema() == {
        "servers": [{"name": "id", "desc": None}],
        "ifaces": [{"name": "server_id", "desc": None}, {"name": "mac", "desc": None},
                   {"name": "ips", "desc": None}],
        "ips": [{"name": "ips_id", "desc": None}, {"name": "ip", "desc": None}],
        "meta": [{"name": "parent_key", "desc": None}, {"name": "k", "desc": None},
                 {"name": "v", "desc": None}]}
    rows = t.translate([{"id": "s1", "ifaces": [
        {"mac": "m1", "ips": ["10.0.0.1", "10.0.0.2"], "meta": {"a": 1}},
        {"mac": "m2", "ips": [], "meta": None}]}])
    h1, h2 = ref_hash(["10.0.0.1", "10.0.0.2"]), ref_hash([])
    assert rows == {"servers": {("s1",)},
                    "ifaces": {("s1", "m1", h1), ("s1", "m2", h2)},
                    "ips": {(h1, "10.0.0.1"), (h1, "10.0.0.2")},
                    "meta": {("m1", "a", 1)}}


def test_parent_key_may_name_an_id_child_column():
    ips = {"translation-type": LIST, "table-name": "ips", "id-col": "id", "val-col": "ip",
           "translator": V}
    notes = {"translation-type": LIST, "table-name": "notes", "parent-key": "ips",
             "val-col": "note", "translator": V}
    t = Translator(hdict("t", [field("ips", translator=ips), field("notes", translator=notes)]))
    h = ref_hash(["1.1.1.1"])
    assert t.translate([{"ips": ["1.1.1.1"], "notes": ["n"]}]) == {
        "t": {(h,)}, "ips": {(h, "1.1.1.1")}, "notes": {(h, "n")}}


# =========================================================================== in-list
def test_in_list_hdict_hdict():
    fixed_ips = hdict("fixed-ips", [field("ip_address"), field("subnet_id")],
                      **{"parent-key": "id", "in-list": True})
    t = Translator(hdict("ports", [field("id"), field("fixed_ips", translator=fixed_ips)]))
    rows = t.translate([{"id": "12345", "fixed_ips": [
        {"ip_address": "1.1.1.1", "subnet_id": "aa"},
        {"ip_address": "2.2.2.2", "subnet_id": "bb"}]}])
    assert rows == {"ports": {("12345",)},
                    "fixed-ips": {("12345", "1.1.1.1", "aa"), ("12345", "2.2.2.2", "bb")}}


def test_in_list_skips_none_elements_and_accepts_empty_list():
    sub = hdict("sub", [field("x")], **{"parent-key": "id", "in-list": True})
    t = Translator(hdict("t", [field("id"), field("sub", translator=sub)]))
    rows = t.translate([{"id": 1, "sub": [None, {"x": 2}]}, {"id": 3, "sub": []}])
    assert rows == {"t": {(1,), (3,)}, "sub": {(1, 2)}}


def test_in_list_false_is_accepted():
    sub = hdict("props", [field("cpus")], **{"parent-key": "id", "in-list": False,
                                             "parent-col-name": "properties"})
    t = Translator(hdict("nodes", [field("id"), field("properties", translator=sub)]))
    assert t.translate([{"id": "n", "properties": {"cpus": 4}}]) == {
        "nodes": {("n",)}, "props": {("n", 4)}}


def test_top_level_in_list_hdict():
    t = Translator(hdict("t", [field("a")], **{"in-list": True}))
    assert t.translate([[{"a": 1}, {"a": 2}], [{"a": 3}]]) == {"t": {(1,), (2,), (3,)}}


# =========================================================================== VDICT
def test_vdict_with_id():
    t = Translator({"translation-type": VDICT, "table-name": "testtable", "id-col": "id_col",
                    "key-col": "key", "val-col": "value", "translator": V})
    k = ref_hash((("a", "FOO"), ("b", 123)))
    assert k == md5('[["a", "FOO"], ["b", 123]]')
    assert t.translate([{"a": "FOO", "b": 123}]) == {"testtable": {(k, "a", "FOO"),
                                                                   (k, "b", 123)}}
    assert names(t.schema()["testtable"]) == ["id_col", "key", "value"]


def test_vdict_without_id():
    t = Translator({"translation-type": VDICT, "table-name": "testtable",
                    "key-col": "key", "val-col": "value", "translator": V})
    assert t.translate([{"a": "FOO", "b": 123}]) == {"testtable": {("a", "FOO"), ("b", 123)}}
    assert names(t.schema()["testtable"]) == ["key", "value"]


def test_vdict_with_id_function():
    t = Translator({"translation-type": VDICT, "table-name": "testtable",
                    "id-col": lambda obj: "id:" + obj["a"], "key-col": "key",
                    "val-col": "value", "translator": V})
    assert t.translate([{"a": "FOO", "b": 123}]) == {
        "testtable": {("id:FOO", "a", "FOO"), ("id:FOO", "b", 123)}}
    assert names(t.schema()["testtable"]) == ["id-col", "key", "value"]


def test_vdict_of_lists_by_id():
    t = Translator({"translation-type": VDICT, "table-name": "testtable", "id-col": "id_col",
                    "key-col": "key", "val-col": "value",
                    "translator": {"translation-type": LIST, "table-name": "subtable",
                                   "id-col": "id_col", "val-col": "val_col",
                                   "translator": V}})
    rows = t.translate([{"foo": (1, 2, 3), "bar": ("a", "b")}])
    k1, k2 = ref_hash((1, 2, 3)), ref_hash(("a", "b"))
    k = ref_hash((("foo", k1), ("bar", k2)))
    assert rows == {"testtable": {(k, "foo", k1), (k, "bar", k2)},
                    "subtable": {(k1, 1), (k1, 2), (k1, 3), (k2, "a"), (k2, "b")}}


@pytest.mark.parametrize("with_id", [False, True])
def test_vdict_of_lists_by_parent_key(with_id):
    spec = {"translation-type": VDICT, "table-name": "testtable", "key-col": "key",
            "val-col": "value",
            "translator": {"translation-type": LIST, "table-name": "subtable",
                           "parent-key": "key", "val-col": "val_col", "translator": V}}
    if with_id:
        spec["id-col"] = "id"
    t = Translator(spec)
    rows = t.translate([{"foo": (1, 2, 3), "bar": ("a", "b")}])
    assert rows["subtable"] == {("foo", 1), ("foo", 2), ("foo", 3), ("bar", "a"), ("bar", "b")}
    if with_id:
        k = ref_hash((("foo",), ("bar",)))
        assert rows["testtable"] == {(k, "foo"), (k, "bar")}
        assert names(t.schema()["testtable"]) == ["id", "key"]
    else:
        assert rows["testtable"] == {("foo",), ("bar",)}
        assert names(t.schema()["testtable"]) == ["key"]
    assert names(t.schema()["subtable"]) == ["parent_key", "val_col"]


def test_vdict_none_sub_value_gets_empty_hash():
    t = Translator({"translation-type": VDICT, "table-name": "t", "key-col": "k",
                    "val-col": "v",
                    "translator": {"translation-type": LIST, "table-name": "s", "id-col": "id",
                                   "val-col": "x", "translator": V}})
    assert t.translate([{"a": None}]) == {"t": {("a", md5("[]"))}, "s": set()}


def test_vdict_keys_are_normalized():
    t = Translator({"translation-type": VDICT, "table-name": "t", "key-col": "k",
                    "val-col": "v", "translator": V})
    assert t.translate([{True: 1, 2: None}]) == {"t": {("True", 1), (2, "None")}}


# =========================================================================== LIST
def test_list_with_id():
    t = Translator({"translation-type": LIST, "table-name": "testtable", "id-col": "id_col",
                    "val-col": "value", "translator": V})
    k = ref_hash((1, "a", "b", "True"))
    assert t.translate([(1, "a", "b", True)]) == {
        "testtable": {(k, 1), (k, "a"), (k, "b"), (k, "True")}}
    assert names(t.schema()["testtable"]) == ["id_col", "value"]


def test_list_with_id_function():
    t = Translator({"translation-type": LIST, "table-name": "testtable",
                    "id-col": lambda obj: obj[0], "val-col": "value", "translator": V})
    assert t.translate([(1, "a", "b", True)]) == {
        "testtable": {(1, 1), (1, "a"), (1, "b"), (1, "True")}}


def test_list_without_id():
    t = Translator({"translation-type": LIST, "table-name": "testtable", "val-col": "value",
                    "translator": V})
    assert t.translate([(1, "a", "b", True)]) == {
        "testtable": {(1,), ("a",), ("b",), ("True",)}}
    assert t.schema() == {"testtable": [{"name": "value", "desc": None}]}


def test_list_of_lists():
    t = Translator({"translation-type": LIST, "table-name": "testtable", "id-col": "id_col",
                    "val-col": "value",
                    "translator": {"translation-type": LIST, "table-name": "subtable",
                                   "id-col": "id_col", "val-col": "val_col",
                                   "translator": V}})
    rows = t.translate([((1, 2, 3), ("a", "b", "c"), (True, False))])
    k1, k2, k3 = ref_hash((1, 2, 3)), ref_hash(("a", "b", "c")), ref_hash(("True", "False"))
    k = ref_hash((k1, k2, k3))
    assert rows == {"testtable": {(k, k1), (k, k2), (k, k3)},
                    "subtable": {(k1, 1), (k1, 2), (k1, 3), (k2, "a"), (k2, "b"), (k2, "c"),
                                 (k3, "True"), (k3, "False")}}


def test_list_of_hdicts_by_id_and_none_elements():
    sub = hdict("items", [field("a"), field("b")], **{"id-col": "id"})
    t = Translator({"translation-type": LIST, "table-name": "t", "id-col": "id",
                    "val-col": "item", "translator": sub})
    rows = t.translate([[{"a": 1, "b": 2}, None]])
    h1, h0 = ref_hash((1, 2)), md5("[]")
    h = ref_hash((h1, h0))
    assert rows == {"t": {(h, h1), (h, h0)}, "items": {(h1, 1, 2)}}


def test_list_value_elements_none_and_unhashable():
    t = Translator({"translation-type": LIST, "table-name": "t", "val-col": "v",
                    "translator": V})
    assert t.translate([[None, [1], {"a": 1}]]) == {"t": {("None",), ("[1]",),
                                                          ("{'a': 1}",)}}


def test_list_accepts_any_iterable_but_strings():
    t = Translator({"translation-type": LIST, "table-name": "t", "val-col": "v",
                    "translator": V})
    assert t.translate([{3, 4}, (x for x in [5])]) == {"t": {(3,), (4,), (5,)}}


def test_list_value_extract_fn():
    t = Translator({"translation-type": LIST, "table-name": "t", "val-col": "v",
                    "translator": {"translation-type": VALUE,
                                   "extract-fn": lambda x: x["name"]}})
    assert t.translate([[{"name": "a"}, {"name": "b"}]]) == {"t": {("a",), ("b",)}}


# =========================================================================== objects-extract-fn
def test_objects_extract_fn_on_root_list():
    t = Translator(hdict("t", [field("a")],
                         **{"objects-extract-fn": lambda objs: objs["items"]}))
    assert t.translate({"items": [{"a": 1}, {"a": 2}]}) == {"t": {(1,), (2,)}}


def test_objects_extract_fn_on_sub_translator():
    def flatten(addresses):
        out = []
        for net, addrs in addresses.items():
            for a in addrs:
                out.append(dict(a, network_name=net))
        return out

    addresses = hdict("servers.addresses",
                      [field("network_name"), field("addr", col="address"),
                       field("version")],
                      **{"parent-key": "id", "parent-col-name": "server_id",
                         "in-list": True, "objects-extract-fn": flatten})
    t = Translator(hdict("servers", [field("id"), field("addresses", translator=addresses)],
                         selector=DOT_SELECTOR))
    s = Obj(id="s1", addresses={"private": [{"addr": "10.0.0.1", "version": 4}],
                                "public": [{"addr": "::1", "version": 6}]})
    rows = t.translate([s])
    assert rows == {"servers": {("s1",)},
                    "servers.addresses": {("s1", "private", "10.0.0.1", 4),
                                          ("s1", "public", "::1", 6)}}
    assert names(t.schema()["servers.addresses"]) == ["server_id", "network_name", "address",
                                                      "version"]


def test_objects_extract_fn_on_vdict_values_and_list_elements():
    inner = {"translation-type": LIST, "table-name": "inner", "id-col": "id", "val-col": "v",
             "translator": V, "objects-extract-fn": lambda s: s.split(",")}
    t = Translator({"translation-type": VDICT, "table-name": "t", "key-col": "k",
                    "val-col": "v", "translator": inner})
    h = ref_hash(["x", "y"])
    assert t.translate([{"a": "x,y"}]) == {"t": {("a", h)}, "inner": {(h, "x"), (h, "y")}}

    t = Translator({"translation-type": LIST, "table-name": "t", "id-col": "id",
                    "val-col": "v", "translator": dict(inner, **{"table-name": "inner2"})})
    rows = t.translate([["p,q"]])
    h = ref_hash(["p", "q"])
    assert rows["inner2"] == {(h, "p"), (h, "q")}


def test_objects_extract_fn_returning_none_counts_as_missing():
    sub = {"translation-type": LIST, "table-name": "s", "id-col": "id", "val-col": "v",
           "translator": V, "objects-extract-fn": lambda v: None}
    t = Translator(hdict("t", [field("x", translator=sub)]))
    assert t.translate([{"x": [1]}]) == {"t": {(md5("[]"),)}, "s": set()}


# =========================================================================== translate API
def test_translate_returns_every_table_even_empty():
    sub = {"translation-type": LIST, "table-name": "tags", "parent-key": "id",
           "val-col": "tag", "translator": V}
    t = Translator(hdict("servers", [field("id"), field("tags", translator=sub)]))
    assert t.translate([]) == {"servers": set(), "tags": set()}
    assert t.translate([None, {"id": 1}]) == {"servers": {(1,)}, "tags": set()}


def test_translate_is_repeatable_and_reentrant():
    sub = {"translation-type": LIST, "table-name": "tags", "parent-key": "id",
           "val-col": "tag", "translator": V}
    t = Translator(hdict("servers", [field("id"), field("tags", translator=sub)]))
    r1 = t.translate([{"id": 1, "tags": ["a"]}])
    r2 = t.translate([{"id": 2}])
    assert r1 == {"servers": {(1,)}, "tags": {(1, "a")}}
    assert r2 == {"servers": {(2,)}, "tags": set()}


def test_schema_is_a_copy():
    t = Translator(hdict("t", [field("a")]))
    t.schema()["t"][0]["name"] = "changed"
    assert t.schema() == {"t": [{"name": "a", "desc": None}]}


def test_nova_like_servers():
    def safe_id(x):
        return x if isinstance(x, str) else x["id"]

    spec = hdict("servers", [
        field("id"), field("name"), field("hostId", col="host_id"),
        field("image", col="image_id", translator={"translation-type": VALUE,
                                                    "extract-fn": safe_id}),
        field("tags", translator={"translation-type": LIST, "table-name": "tags",
                                  "parent-key": "id", "parent-col-name": "server_id",
                                  "val-col": "tag", "translator": V}),
        field("created", col="created_at")])
    t = Translator(spec)
    rows = t.translate([{"id": "s1", "name": "vm", "hostId": "h", "image": {"id": "i"},
                         "tags": ["web", "db"], "created": "2024"},
                        {"id": "s2", "name": "vm2", "image": "i2", "tags": []}])
    assert names(t.schema()["servers"]) == ["id", "name", "host_id", "image_id", "created_at"]
    assert rows == {"servers": {("s1", "vm", "h", "i", "2024"),
                                ("s2", "vm2", "None", "i2", "None")},
                    "tags": {("s1", "web"), ("s1", "db")}}


# =========================================================================== data types
def test_data_type_and_nullable_in_schema():
    t = Translator(hdict("t", [
        field("a", translator={"translation-type": VALUE, "data-type": values.Str,
                               "nullable": False}),
        field("b", translator={"translation-type": VALUE, "data-type": "Int"}),
        field("c", translator={"translation-type": VALUE, "nullable": True}),
        field("d", translator={"translation-type": VALUE, "nullable": False}),
        field("e", translator={"translation-type": LIST, "table-name": "e", "id-col": "id",
                               "val-col": "v", "val-col-desc": "vals",
                               "translator": {"translation-type": VALUE,
                                              "data-type": values.IPAddress}}),
        field("f", translator={"translation-type": VDICT, "table-name": "f", "id-col": "id",
                               "key-col": "k", "val-col": "v",
                               "translator": {"translation-type": VALUE,
                                              "data-type": "Bool", "nullable": False}}),
    ]))
    assert t.schema() == {
        "t": [{"name": "a", "desc": None, "type": "Str", "nullable": False},
              {"name": "b", "desc": None, "type": "Int"},
              {"name": "c", "desc": None},
              {"name": "d", "desc": None, "nullable": False},
              {"name": "e", "desc": None},
              {"name": "f", "desc": None}],
        "e": [{"name": "id", "desc": None}, {"name": "v", "desc": "vals", "type": "IPAddress"}],
        "f": [{"name": "id", "desc": None}, {"name": "k", "desc": None},
              {"name": "v", "desc": None, "type": "Bool", "nullable": False}],
    }


def test_data_type_marshals_values():
    t = Translator(hdict("t", [
        field("i", translator={"translation-type": VALUE, "data-type": "Int"}),
        field("f", translator={"translation-type": VALUE, "data-type": "Float"}),
        field("ip", translator={"translation-type": VALUE, "data-type": "IPAddress"}),
        field("net", translator={"translation-type": VALUE, "data-type": "IPNetwork"}),
        field("b", translator={"translation-type": VALUE, "data-type": "Bool"}),
    ]))
    rows = t.translate([{"i": 3.0, "f": 2, "ip": "::ffff:10.0.0.1", "net": "10.0.0.0/8",
                         "b": True}])
    assert rows == {"t": {(3, 2.0, "10.0.0.1", "10.0.0.0/8", "True")}}


def test_data_type_errors_are_logged_and_tolerated(caplog):
    t = Translator(hdict("t", [
        field("i", translator={"translation-type": VALUE, "data-type": "Int"}),
        field("n", translator={"translation-type": VALUE, "nullable": False}),
    ]))
    with caplog.at_level(logging.DEBUG, logger="congress.datasources.translators"):
        rows = t.translate([{"i": "abc", "n": None}, {"i": "def"}])
    assert rows == {"t": {("abc", "None"), ("def", "None")}}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2       # once per column, the rest at DEBUG
    assert any("'i'" in r.getMessage() and "Int" in r.getMessage() for r in warnings)
    assert any("not nullable" in r.getMessage() for r in warnings)


def test_custom_data_type_object():
    class Upper:
        @classmethod
        def marshal(cls, v):
            return None if v is None else v.upper()

    t = Translator(hdict("t", [field("a", translator={"translation-type": VALUE,
                                                       "data-type": Upper})]))
    assert t.schema()["t"] == [{"name": "a", "desc": None, "type": "Upper"}]
    assert t.translate([{"a": "x"}]) == {"t": {("X",)}}


def test_enum_type():
    Status = values.enum_type("Status", ["ACTIVE", "ERROR"], catch_all="OTHER")
    assert Status.marshal("ACTIVE") == "ACTIVE"
    assert Status.marshal("BUILD") == "OTHER"
    assert Status.marshal(None) is None
    Strict = values.enum_type("Strict", [1, 2], base=values.Int)
    with pytest.raises(ValueError):
        Strict.marshal(3)
    with pytest.raises(ValueError):
        values.enum_type("Bad", ["x"], base=values.Int)


@pytest.mark.parametrize("dt,good,bad", [
    (values.Scalar, ["a", 1, 1.5, True], [[1], {}]),
    (values.Str, ["a"], [1]),
    (values.Bool, [True], [1, "True"]),
    (values.Int, [1, 2.0], [2.5, "1", True]),
    (values.Float, [1, 2.5], ["x", False]),
    (values.UUID, ["6c2b7a5c-2f3e-4b8e-9a4a-1d2e3f405060"], ["nope"]),
    (values.IPAddress, ["10.0.0.1", "fe80::1"], ["10.0.0.256"]),
    (values.IPNetwork, ["10.0.0.0/24"], ["10.0.0.1/24"]),
])
def test_data_types_accept_and_reject(dt, good, bad):
    assert dt.marshal(None) is None
    for v in good:
        dt.marshal(v)
    for v in bad:
        with pytest.raises(ValueError):
            dt.marshal(v)


# =========================================================================== TranslatorSet
def test_translator_set():
    servers = hdict("servers", [field("id"), field("tags", translator={
        "translation-type": LIST, "table-name": "tags", "parent-key": "id", "val-col": "tag",
        "translator": V})])
    flavors = hdict("flavors", [field("id"), field("name")])
    ts = TranslatorSet([servers, flavors])
    assert ts.schema() == {"servers": [{"name": "id", "desc": None}],
                           "tags": [{"name": "parent_key", "desc": None},
                                    {"name": "tag", "desc": None}],
                           "flavors": [{"name": "id", "desc": None},
                                       {"name": "name", "desc": None}]}
    assert ts.tables() == ["servers", "tags", "flavors"]
    assert ts.root_tables() == ["servers", "flavors"]
    assert ts.translator_for("flavors").table_name == "flavors"
    assert ts.root_of("tags") == "servers"
    assert ts.root_of("servers") == "servers"
    assert "tags" in ts and "nope" not in ts
    assert len(ts) == 2 and [t.table_name for t in ts] == ["servers", "flavors"]
    with pytest.raises(KeyError):
        ts.translator_for("tags")
    with pytest.raises(KeyError):
        ts.root_of("nope")


def test_translator_set_rejects_duplicate_tables_across_translators():
    a = hdict("table1", [field("tags", translator={
        "translation-type": LIST, "table-name": "table2", "id-col": "id", "val-col": "tag",
        "translator": V})])
    b = hdict("table2", [field("x")])
    with pytest.raises(TranslatorError, match=r"table2.*used twice"):
        TranslatorSet([a, b])
    with pytest.raises(TranslatorError, match=r"used twice"):
        TranslatorSet([a, a])


# =========================================================================== validation
def err(spec) -> TranslatorError:
    with pytest.raises(TranslatorError) as info:
        Translator(spec)
    return info.value


def assert_names(e: TranslatorError, *parts: str) -> None:
    for p in parts:
        assert p in str(e), (p, str(e))


def test_error_missing_translation_type():
    e = err({"translation-typeXX": VDICT, "table-name": "testtable", "key-col": "k",
             "val-col": "v", "translator": V})
    assert_names(e, "Param (translation-type) must be in translator", "testtable")
    e = err(hdict("testtable", [field("abc", translator={"translation-typeXX": VALUE})]))
    assert_names(e, "Param (translation-type) must be in translator", "abc", "testtable")
    assert e.code == "translator_error"
    assert e.data["key"] == "translation-type"


@pytest.mark.parametrize("ttype", ["YOYO", "LIS", None, 3])
def test_error_invalid_translation_type(ttype):
    e = err({"translation-type": ttype, "table-name": "table1"})
    assert_names(e, "not a valid translation-type", "table1", "translation-type")


@pytest.mark.parametrize("spec,bad_key,table", [
    ({"translation-type": LIST, "table-name": "table1", "id-col": "id-col", "val-col": "v",
      "translator": V, "invalid_column": "blah"}, "invalid_column", "table1"),
    ({"translation-type": HDICT, "table-nameXX": "testtable", "id-col": "id_col",
      "selector-type": DOT_SELECTOR, "field-translators": (field("abc"),)},
     "table-nameXX", "top-level"),
    ({"translation-type": VDICT, "table-name": "testtable", "key-col": "k", "val-col": "v",
      "translator": V, "selector-type": DICT_SELECTOR}, "selector-type", "testtable"),
    ({"translation-type": LIST, "table-name": "testtable", "val-col": "v",
      "translator": V, "key-col": "k"}, "key-col", "testtable"),
    (hdict("table1", [field("tags", translator=hdict("table2", [field("x")],
                                                     **{"id-col": "i", "invalid_column": 1}))]),
     "invalid_column", "table2"),
    ({"translation-type": LIST, "table-name": "table1", "val-col": "fixed_ips",
      "translator": {"table-name": "table2", "invalid-column": "hello_there!",
                     "translation-type": HDICT, "selector-type": DICT_SELECTOR,
                     "id-col": "id", "field-translators": (field("ip_address"),)}},
     "invalid-column", "table2"),
    (hdict("testtable", [field("abc", translator={"translation-type": VALUE, "XX": 123})]),
     "XX", "testtable"),
    (hdict("testtable", [{"fieldname": "abc", "translator": V, "colXX": "c"}]),
     "colXX", "testtable"),
    ({"translation-type": VDICT, "table-name": "testtable", "key-col": "k", "val-col": "v",
      "translator": {"translation-type": VALUE, "XX": 123}}, "XX", "testtable"),
])
def test_error_unknown_keys(spec, bad_key, table):
    e = err(spec)
    assert_names(e, f"Params ({bad_key}) are invalid", table)
    assert e.data["key"] == bad_key


@pytest.mark.parametrize("ttype", [LIST, VDICT, HDICT])
def test_error_parent_key_with_id_col(ttype):
    spec = {"translation-type": ttype, "table-name": "table1", "id-col": "id-col",
            "parent-key": "parent_key_column", "key-col": "k", "val-col": "v",
            "translator": V, "selector-type": DICT_SELECTOR, "field-translators": ()}
    for k in set(spec) - set(fmt.PARAMS[ttype]):
        del spec[k]
    e = err(hdict("root", [field("parent_key_column"), field("x", translator=spec)]))
    assert_names(e, "Specify at most one of parent-key or id-col", "table1")


def test_error_vdict_missing_key_col_or_val_col():
    e = err({"translation-type": VDICT, "table-name": "table1", "val-col": "id-col",
             "translator": V})
    assert_names(e, "Param (key-col) must be in translator", "table1")
    e = err({"translation-type": VDICT, "table-name": "table1", "key-col": "id-col",
             "translator": V})
    assert_names(e, "Param (val-col) must be in translator", "table1")


def test_error_list_missing_val_col():
    e = err({"translation-type": LIST, "table-name": "table1", "translator": V})
    assert_names(e, "Param (val-col) must be in translator", "table1")


def test_error_missing_required_keys():
    e = err({"translation-type": LIST, "table-name": "table1", "val-col": "v"})
    assert_names(e, "Param (translator) must be in translator", "table1")
    e = err({"translation-type": HDICT, "table-name": "table1", "selector-type": DICT_SELECTOR})
    assert_names(e, "field-translators", "table1")
    e = err({"translation-type": HDICT, "table-name": "table1", "field-translators": ()})
    assert_names(e, "selector-type", "table1")
    e = err({"translation-type": LIST, "val-col": "v", "translator": V})
    assert_names(e, "Param (table-name) must be in translator")
    e = err(hdict("table1", [{"translator": V}]))
    assert_names(e, "Param (fieldname) must be in translator", "table1")
    e = err(hdict("table1", [{"fieldname": "f"}]))
    assert_names(e, "Param (translator) must be in field translator", "table1", "'f'")


@pytest.mark.parametrize("spec", [
    hdict("table1", [field("tags", translator={"translation-type": LIST,
                                               "table-name": "table1", "val-col": "tag",
                                               "id-col": "id", "translator": V})]),
    {"translation-type": LIST, "table-name": "testtable", "id-col": "id_col",
     "val-col": "value", "translator": {"translation-type": LIST, "table-name": "testtable",
                                        "id-col": "id", "val-col": "val", "translator": V}},
    hdict("table1", [field("tags", translator=hdict("table1", [field("x")],
                                                    **{"id-col": "id"}))]),
    hdict("t", [field("a", translator=hdict("sub", [field("x")], **{"id-col": "i"})),
                field("b", translator=hdict("sub", [field("y")], **{"id-col": "i"}))]),
])
def test_error_duplicate_table_names(spec):
    e = err(spec)
    assert_names(e, "used twice")
    assert e.data["key"] == "table-name"


def test_error_bad_values_of_keys():
    e = err(hdict("t", [field("a")], selector="XPATH"))
    assert_names(e, "selector-type", "'t'", "XPATH")
    e = err(hdict("t", [field("a")], **{"in-list": "yes"}))
    assert_names(e, "in-list", "'t'")
    e = err(hdict("t", [field("a", translator={"translation-type": VALUE, "extract-fn": 3})]))
    assert_names(e, "extract-fn", "'t'", "'a'")
    e = err(hdict("t", [field("a", translator={"translation-type": VALUE,
                                                "data-type": "Quaternion"})]))
    assert_names(e, "data-type", "'t'", "Quaternion")
    e = err(hdict("t", [field("a", translator={"translation-type": VALUE,
                                                "nullable": "no"})]))
    assert_names(e, "nullable", "'t'")
    e = err(hdict("t", [field("a")], **{"objects-extract-fn": "nope"}))
    assert_names(e, "objects-extract-fn", "'t'")
    e = err(hdict("t", [field("a")], **{"id-col": 7}))
    assert_names(e, "id-col", "'t'")
    e = err({"translation-type": HDICT, "table-name": "t", "selector-type": DICT_SELECTOR,
             "field-translators": {"fieldname": "a"}})
    assert_names(e, "field-translators", "'t'")
    e = err(hdict("t", [field("a", col="")]))
    assert_names(e, "col", "'t'")
    e = err(hdict("t", [field("a", desc=5)]))
    assert_names(e, "desc", "'t'")
    e = err("not a dict")
    assert_names(e, "must be a dict")


def test_error_top_level_value_and_top_level_parent_key():
    e = err(V)
    assert_names(e, "top-level translator must be HDICT, VDICT or LIST")
    e = err(hdict("t", [field("a")], **{"parent-key": "a"}))
    assert_names(e, "'t'", "parent-key")


def test_error_nested_without_parent_key_or_id_col():
    for sub in (hdict("s", [field("x")]),
                {"translation-type": LIST, "table-name": "s", "val-col": "v",
                 "translator": V},
                {"translation-type": VDICT, "table-name": "s", "key-col": "k",
                 "val-col": "v", "translator": V}):
        e = err(hdict("t", [field("x", translator=sub)]))
        assert_names(e, "'s'", "'t'", "parent-key or id-col")


def test_error_list_sub_translator_with_parent_key():
    e = err({"translation-type": LIST, "table-name": "t", "val-col": "v",
             "translator": hdict("s", [field("x")], **{"parent-key": "v"})})
    assert_names(e, "'s'", "LIST 't'", "id-col")


def test_error_parent_key_not_a_parent_column():
    sub = {"translation-type": LIST, "table-name": "s", "parent-key": "nope",
           "val-col": "v", "translator": V}
    e = err(hdict("t", [field("id"), field("x", translator=sub)]))
    assert_names(e, "'s'", "parent-key 'nope'", "'t'", "available: id")
    # the parent's id is not available to sub-tables (it is computed after them)
    sub["parent-key"] = "the_id"
    e = err(hdict("t", [field("a"), field("x", translator=sub)], **{"id-col": "the_id"}))
    assert_names(e, "parent-key 'the_id'")
    # a VDICT's sub-translator can only key on the VDICT's key column
    e = err({"translation-type": VDICT, "table-name": "t", "key-col": "k", "val-col": "v",
             "translator": {"translation-type": LIST, "table-name": "s", "parent-key": "v",
                            "val-col": "x", "translator": V}})
    assert_names(e, "parent-key 'v'", "available: k")
    # a parent-key child's column is not in the parent row
    other = {"translation-type": LIST, "table-name": "o", "parent-key": "id",
             "val-col": "v", "translator": V}
    sub["parent-key"] = "other"
    e = err(hdict("t", [field("id"), field("other", translator=other),
                        field("x", translator=sub)]))
    assert_names(e, "parent-key 'other'")


def test_error_duplicate_column_names():
    e = err(hdict("t", [field("a"), field("b", col="a")]))
    assert_names(e, "'t'", "duplicate column", "a")
    e = err(hdict("t", [field("id")], **{"id-col": "id"}))
    assert_names(e, "duplicate column", "id")


# =========================================================================== data errors
def data_err(t: Translator, objs) -> TranslatorError:
    with pytest.raises(TranslatorError) as info:
        t.translate(objs)
    return info.value


def test_data_error_hdict_given_non_dict():
    t = Translator(hdict("servers", [field("id")]))
    e = data_err(t, [["not", "a", "dict"]])
    assert_names(e, "'servers'", "expected a dict", "found list")
    e = data_err(t, ["string"])
    assert_names(e, "'servers'", "found str")


def test_data_error_nested_field_with_wrong_type():
    sub = hdict("fixed_ips", [field("ip")], **{"parent-key": "id", "in-list": True})
    t = Translator(hdict("ports", [field("id"), field("ips", translator=sub)]))
    e = data_err(t, [{"id": 1, "ips": {"ip": "1.1.1.1"}}])
    assert_names(e, "'fixed_ips'", "field 'ips'", "'ports'", "expected a list", "found dict")
    e = data_err(t, [{"id": 1, "ips": [["1.1.1.1"]]}])
    assert_names(e, "'fixed_ips'", "field 'ips'", "expected a dict", "found list")

    sub = hdict("flavor", [field("id")], **{"parent-key": "id"})
    t = Translator(hdict("servers", [field("id"), field("flavor", translator=sub)]))
    e = data_err(t, [{"id": 1, "flavor": ["f1"]}])
    assert_names(e, "'flavor'", "field 'flavor'", "'servers'", "found list")


def test_data_error_dot_selector_given_plain_dict_or_scalar():
    t = Translator(hdict("servers", [field("id")], selector=DOT_SELECTOR))
    e = data_err(t, [{"id": 1}])
    assert_names(e, "'servers'", "DOT_SELECTOR", "found dict")
    e = data_err(t, [42])
    assert_names(e, "found int")


def test_data_error_list_and_vdict_shapes():
    t = Translator(hdict("t", [field("id"), field("tags", translator={
        "translation-type": LIST, "table-name": "tags", "parent-key": "id", "val-col": "tag",
        "translator": V})]))
    e = data_err(t, [{"id": 1, "tags": {"a": 1}}])
    assert_names(e, "'tags'", "field 'tags'", "'t'", "expected a list", "found dict")
    e = data_err(t, [{"id": 1, "tags": "abc"}])
    assert_names(e, "'tags'", "found str")

    t = Translator(hdict("t", [field("id"), field("meta", translator={
        "translation-type": VDICT, "table-name": "meta", "parent-key": "id", "key-col": "k",
        "val-col": "v", "translator": V})]))
    e = data_err(t, [{"id": 1, "meta": ["a", "b"]}])
    assert_names(e, "'meta'", "field 'meta'", "expected a dict", "found list")


def test_data_error_root_not_a_list():
    t = Translator(hdict("t", [field("a")]))
    for bad, tname in (({"a": 1}, "dict"), (None, "NoneType"), ("abc", "str"), (5, "int")):
        e = data_err(t, bad)
        assert_names(e, "'t'", "expected a list", f"found {tname}")


def test_data_error_user_functions_fail():
    t = Translator(hdict("t", [field("img", translator={"translation-type": VALUE,
                                                         "extract-fn": lambda x: x["id"]})]))
    e = data_err(t, [{"img": "plain"}])
    assert_names(e, "'t'", "'img'", "extract-fn failed")
    assert isinstance(e.__cause__, TypeError)

    t = Translator(hdict("t", [field("a")], **{"id-col": lambda o: o["missing"]}))
    e = data_err(t, [{"a": 1}])
    assert_names(e, "'t'", "id computation")

    t = Translator(hdict("t", [field("a")], **{"id-col": lambda o: [1]}))
    e = data_err(t, [{"a": 1}])
    assert_names(e, "'t'", "string or a number")

    t = Translator(hdict("t", [field("a")], **{"objects-extract-fn": lambda o: o.items}))
    e = data_err(t, [])
    assert_names(e, "'t'", "objects-extract-fn failed")


def test_data_error_from_a_raising_property_is_wrapped():
    class Bad:
        @property
        def a(self):
            raise RuntimeError("boom")

    t = Translator(hdict("t", [field("a")], selector=DOT_SELECTOR))
    e = data_err(t, [Bad()])
    assert_names(e, "'t'", "boom")
    assert isinstance(e.__cause__, RuntimeError)
