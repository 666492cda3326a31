from __future__ import annotations

import pytest

from .helpers import run


def vint(lo, hi, value):
    (out,) = run("validate_int", lo, hi, value)
    return out


def vfloat(lo, hi, value):
    (out,) = run("validate_float", lo, hi, value)
    return out


def vstr(regex, max_length, quotes, ignore_case, value):
    (out,) = run("validate_string", regex, max_length, quotes, ignore_case, value)
    return out


# --- validate_int ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lo, hi, value",
    [
        ("", "", 5),
        ("", "", "5"),
        ("", "", " -12 "),
        (1, 10, 1),
        (1, 10, 10),
        (1, 10, "7"),
        ("", 10, -1000),
        (1, "", 10**30),
        (0, 0, 0),
        ("", "", ""),  # empty value counts as unset, like oslo.config
        ("", "", "   "),
        (1, 10, 3.7),  # oslo.config truncates a float with int()
    ],
)
def test_validate_int_valid(lo, hi, value):
    assert vint(lo, hi, value) == ""


def test_validate_int_bounds_are_min_first():
    assert vint(5, 10, 4) == "Should be greater than or equal to 5"
    assert vint(5, 10, 11) == "Should be less than or equal to 10"
    assert vint("", 10, "11") == "Should be less than or equal to 10"
    assert vint(-3, "", -4) == "Should be greater than or equal to -3"


@pytest.mark.parametrize("value", ["abc", "3.5", "1e3", "0x10", "twelve"])
def test_validate_int_not_an_int(value):
    err = vint("", "", value)
    assert err and repr(value) in err


def test_validate_int_special_floats():
    assert run("validate_int", "", "", float("inf")) is None  # OverflowError: no answer
    assert vint("", "", float("nan")) == "cannot convert float NaN to integer"


def test_validate_int_parameters_go_to_oslo_config_as_they_are():
    """As in OpenStack Congress: a parameter problem is an error text, not a failed literal."""
    assert vint(10, 5, 7) == "Max value is less than min value"
    assert vint("1", "10", "5") == "'<' not supported between instances of 'int' and 'str'"
    assert vint("a", "", 1) == "'<' not supported between instances of 'int' and 'str'"


# --- validate_float -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lo, hi, value",
    [
        ("", "", 1.5),
        ("", "", "1.5"),
        ("", "", 3),
        ("", "", "1e-3"),
        ("", "", "inf"),
        (0.5, 1.5, 0.5),
        (0.5, 1.5, "1.5"),
        (0, 1, "0.25"),
        ("", "", ""),
    ],
)
def test_validate_float_valid(lo, hi, value):
    assert vfloat(lo, hi, value) == ""


def test_validate_float_out_of_bounds():
    assert vfloat(0.5, 1.5, 0.25) == "Should be greater than or equal to 0.5"
    assert vfloat(0.5, 1.5, "2") == "Should be less than or equal to 1.5"
    assert vfloat("", 1e20, 1e21) == "Should be less than or equal to 1e+20"


def test_validate_float_not_a_float():
    err = vfloat("", "", "abc")
    assert err and "'abc'" in err


def test_validate_float_parameters_go_to_oslo_config_as_they_are():
    assert vfloat(2.0, 1.0, 1.5) == "Max value is less than min value"
    assert vfloat("0.5", "2.5", 2) == "'<' not supported between instances of 'float' and 'str'"


# --- validate_string ------------------------------------------------------------------------


def test_validate_string_no_constraints():
    assert vstr("", "", "False", "False", "anything") == ""
    assert vstr("", "", "False", "False", "") == ""
    assert vstr("", "", "False", "False", 42) == ""  # str(value)


def test_validate_string_regex_search_is_unanchored():
    assert vstr("^[a-z]+$", "", "", "", "abc") == ""
    assert vstr("b", "", "", "", "abc") == ""
    err = vstr("^[a-z]+$", "", "", "", "ABC")
    assert err == "Value 'ABC' doesn't match regex '^[a-z]+$'"


def test_validate_string_flags_are_taken_for_their_truth_value():
    """oslo.config gets ``quotes``/``ignore_case`` as they are: any non-empty string is true
    (so "false" is true), as in OpenStack Congress."""
    assert vstr("^[a-z]+$", "", "", "True", "ABC") == ""
    assert vstr("^[a-z]+$", "", "", 1, "ABC") == ""
    assert vstr("^[a-z]+$", "", "", "false", "ABC") == ""
    assert vstr("^[a-z]+$", "", "", "", "ABC") == "Value 'ABC' doesn't match regex '^[a-z]+$'"
    assert vstr("^[a-z]+$", "", "", 0, "ABC") != ""


def test_validate_string_max_length():
    assert vstr("", 3, "", "", "abc") == ""
    assert vstr("", 3, "", "", "abcd") == "Value 'abcd' exceeds maximum length 3"
    assert vstr("", "", "", "", "x" * 10_000) == ""  # "" = unlimited
    assert vstr("", 0, "", "", "abcd") == ""  # 0 = unlimited, as in oslo.config
    assert vstr("", "3", "", "", "abc") == "'>' not supported between instances of 'str' and 'int'"


def test_validate_string_quotes():
    assert vstr("", "", "True", "", '"abc"') == ""
    assert vstr("", "", "True", "", "'abc'") == ""
    assert vstr("", "", "True", "", '"abc') == 'Non-closed quote: "abc'
    assert vstr("", "", "True", "", "'") == "Non-closed quote: '"
    # "False" is a non-empty string, so quotes are handled too; only a false value skips them
    assert vstr("", "", "False", "", '"abc') == 'Non-closed quote: "abc'
    assert vstr("", "", "", "", '"abc') == ""
    assert vstr("", "", 0, "", '"abc') == ""


def test_validate_string_quotes_are_stripped_before_checks():
    assert vstr("", 3, "True", "", '"abc"') == ""
    assert vstr("", 3, "", "", '"abc"') == "Value '\"abc\"' exceeds maximum length 3"
    assert vstr("^abc$", "", "True", "", "'abc'") == ""
    assert vstr("^abc$", "", "", "", "'abc'") != ""


def test_validate_string_parameters_go_to_oslo_config_as_they_are():
    assert run("validate_string", "([", "", "", "", "x") is None  # re.error: no answer
    assert vstr("", "ten", "", "", "x") == \
        "'>' not supported between instances of 'str' and 'int'"
    assert vstr("", "", "maybe", "", "x") == ""
