from __future__ import annotations

import copy
import pickle

import pytest

from congress.datalog import builtins
from congress.datalog.builtins import (
    BUILTINS,
    Builtin,
    families,
    is_builtin_name,
    lookup,
)
from congress.datalog.builtins.base import convert_output

# name -> (arity, num_inputs, family): OpenStack Congress's builtins (doc/policy-language.md §6).
SPEC = {
    "lt": (2, 2, "comparison"),
    "lteq": (2, 2, "comparison"),
    "equal": (2, 2, "comparison"),
    "gt": (2, 2, "comparison"),
    "gteq": (2, 2, "comparison"),
    "max": (3, 2, "comparison"),
    "plus": (3, 2, "arithmetic"),
    "minus": (3, 2, "arithmetic"),
    "mul": (3, 2, "arithmetic"),
    "div": (3, 2, "arithmetic"),
    "float": (2, 1, "arithmetic"),
    "int": (2, 1, "arithmetic"),
    "concat": (3, 2, "string"),
    "len": (2, 1, "string"),
    "now": (1, 0, "datetime"),
    "unpack_date": (4, 1, "datetime"),
    "unpack_time": (4, 1, "datetime"),
    "unpack_datetime": (7, 1, "datetime"),
    "pack_time": (4, 3, "datetime"),
    "pack_date": (4, 3, "datetime"),
    "pack_datetime": (7, 6, "datetime"),
    "extract_date": (2, 1, "datetime"),
    "extract_time": (2, 1, "datetime"),
    "datetime_to_seconds": (2, 1, "datetime"),
    "datetime_plus": (3, 2, "datetime"),
    "datetime_minus": (3, 2, "datetime"),
    "datetime_lt": (2, 2, "datetime"),
    "datetime_lteq": (2, 2, "datetime"),
    "datetime_gt": (2, 2, "datetime"),
    "datetime_gteq": (2, 2, "datetime"),
    "datetime_equal": (2, 2, "datetime"),
    "ips_equal": (2, 2, "netaddr"),
    "ips_lt": (2, 2, "netaddr"),
    "ips_lteq": (2, 2, "netaddr"),
    "ips_gt": (2, 2, "netaddr"),
    "ips_gteq": (2, 2, "netaddr"),
    "networks_equal": (2, 2, "netaddr"),
    "networks_overlap": (2, 2, "netaddr"),
    "ip_in_network": (2, 2, "netaddr"),
    "validate_int": (4, 3, "validators"),
    "validate_float": (4, 3, "validators"),
    "validate_string": (6, 5, "validators"),
}


def test_registry_is_exactly_the_spec_table():
    assert set(BUILTINS) == set(SPEC)


@pytest.mark.parametrize("name", sorted(SPEC))
def test_each_builtin_matches_spec(name):
    arity, num_inputs, family = SPEC[name]
    b = BUILTINS[name]
    assert b.name == name
    assert (b.arity, b.num_inputs, b.family) == (arity, num_inputs, family)
    assert b.num_outputs == arity - num_inputs
    assert b.doc and "\n" not in b.doc and b.doc.startswith(name + "(")
    assert lookup(name, arity) is b
    assert lookup(name, arity + 1) is None
    assert lookup(name, arity - 1) is None
    assert is_builtin_name(name)


def test_lookup_unknown_and_prefixed_names():
    assert lookup("nosuch", 2) is None
    assert not is_builtin_name("nosuch")
    # The caller strips service prefixes; the registry does not know them.
    assert lookup("builtin:lt", 2) is None
    assert not is_builtin_name("nova:lt")


def test_families_groups_every_builtin_once():
    fams = families()
    assert set(fams) == {"comparison", "arithmetic", "string", "datetime", "netaddr", "validators"}
    seen = [b.name for group in fams.values() for b in group]
    assert sorted(seen) == sorted(SPEC)
    for fam, group in fams.items():
        assert all(b.family == fam for b in group)
    # A fresh copy: mutating it does not touch the registry.
    fams["comparison"].clear()
    assert families()["comparison"]


def test_family_modules_each_hold_their_list():
    for module in builtins.FAMILY_MODULES:
        assert module.BUILTINS
        assert all(b.family == module.FAMILY for b in module.BUILTINS)


def test_duplicate_names_are_rejected():
    a = Builtin("dup", 2, 2, lambda x, y: True, "comparison", "dup(x, y): test")
    b = Builtin("dup", 3, 2, lambda x, y: 1, "arithmetic", "dup(x, y, z): test")
    with pytest.raises(ValueError, match="dup"):
        builtins.build_registry([a, b])


def test_builtin_rejects_bad_shapes():
    with pytest.raises(ValueError):
        Builtin("bad", 1, 2, lambda x, y: 1, "arithmetic", "bad")
    with pytest.raises(ValueError):
        Builtin("bad", 1, -1, lambda: 1, "arithmetic", "bad")
    with pytest.raises(ValueError):
        Builtin("", 1, 1, lambda x: 1, "arithmetic", "bad")


def test_builtin_is_frozen_hashable_and_picklable():
    b = BUILTINS["plus"]
    with pytest.raises(AttributeError):
        b.name = "other"  # type: ignore[misc]
    assert hash(b) == hash(BUILTINS["plus"])
    clone = pickle.loads(pickle.dumps(b))
    assert clone == b and clone.evaluate((1, 2)) == (3,)
    assert copy.deepcopy(b).evaluate((2, 2)) == (4,)
    assert b.signature() == "plus/3"


# --- evaluate: the contract the engine relies on ----------------------------------------------


def _mk(fn, arity, num_inputs):
    return Builtin("t", arity, num_inputs, fn, "comparison", "t(...): test")


def test_evaluate_zero_outputs_truthiness():
    b = _mk(lambda x: x, 1, 1)
    assert b.evaluate((1,)) == ()
    assert b.evaluate(("x",)) == ()
    assert b.evaluate((0,)) is None
    assert b.evaluate(("",)) is None


def test_evaluate_one_output_wraps_and_converts():
    b = _mk(lambda x: x, 2, 1)
    assert b.evaluate(("a",)) == ("a",)
    assert b.evaluate((1.5,)) == (1.5,)
    out = b.evaluate((True,))
    assert out == (1,) and type(out[0]) is int
    assert b.evaluate((None,)) is None


def test_evaluate_several_outputs():
    b = _mk(lambda x: (x, x + 1, str(x)), 4, 1)
    assert b.evaluate((1,)) == (1, 2, "1")
    wrong_len = _mk(lambda x: (x, x), 4, 1)
    assert wrong_len.evaluate((1,)) is None
    as_list = _mk(lambda x: [x, False], 3, 1)
    out = as_list.evaluate((7,))
    assert out == (7, 0) and type(out[1]) is int
    with_none = _mk(lambda x: (x, None), 3, 1)
    assert with_none.evaluate((1,)) is None
    not_iterable = _mk(lambda x: 5, 3, 1)
    assert not_iterable.evaluate((1,)) is None


def test_evaluate_swallows_any_exception():
    def boom(*args):
        raise RuntimeError("boom")

    for arity, num_inputs in ((1, 1), (2, 1), (3, 1)):
        assert _mk(boom, arity, num_inputs).evaluate((1,)) is None
    # Wrong number of inputs is a TypeError inside the call: also just a failure.
    assert BUILTINS["plus"].evaluate((1,)) is None


def test_convert_output():
    class S(str):
        pass

    class I(int):  # noqa: E742
        pass

    assert type(convert_output(S("a"))) is str
    assert type(convert_output(I(3))) is int and convert_output(I(3)) == 3
    assert convert_output(False) == 0 and type(convert_output(False)) is int
    assert convert_output(("a", 1)) == "('a', 1)"
