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
        ("1", "10", "5"),  # numeric-string bounds
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
    assert vint("", "", float("inf"))  # OverflowError -> error text
    assert vint("", "", float("nan"))


def test_validate_int_bad_bounds_fail_the_literal():
    assert run("validate_int", "a", "", 1) is None
    assert run("validate_int", 10, 5, 7) is None  # max below min


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
        ("0.5", "2.5", 2),
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


def test_validate_float_bad_bounds_fail_the_literal():
    assert run("validate_float", "x", "", 1.0) is None
    assert run("validate_float", 2.0, 1.0, 1.5) is None


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


def test_validate_string_ignore_case_applies_to_regex():
    assert vstr("^[a-z]+$", "", "", "True", "ABC") == ""
    assert vstr("^[a-z]+$", "", "", 1, "ABC") == ""
    assert vstr("^[a-z]+$", "", "", "false", "ABC") != ""


def test_validate_string_max_length():
    assert vstr("", 3, "", "", "abc") == ""
    assert vstr("", "3", "", "", "abc") == ""
    assert vstr("", 3, "", "", "abcd") == "Value 'abcd' exceeds maximum length 3"
    assert vstr("", "", "", "", "x" * 10_000) == ""  # "" = unlimited
    assert vstr("", 0, "", "", "abcd") == ""  # 0 = unlimited, as in oslo.config


def test_validate_string_quotes():
    assert vstr("", "", "True", "", '"abc"') == ""
    assert vstr("", "", "True", "", "'abc'") == ""
    assert vstr("", "", "True", "", "abc'") == ""  # only an opening quote must be closed
    assert vstr("", "", "True", "", '"abc') == 'Non-closed quote: "abc'
    assert vstr("", "", "True", "", "'") == "Non-closed quote: '"
    assert vstr("", "", "True", "", "\"abc'") == "Non-closed quote: \"abc'"
    # Without quotes the value is taken literally.
    assert vstr("", "", "False", "", '"abc') == ""


def test_validate_string_quotes_are_stripped_before_checks():
    assert vstr("", 3, "True", "", '"abc"') == ""
    assert vstr("", 3, "False", "", '"abc"') == "Value '\"abc\"' exceeds maximum length 3"
    assert vstr("^abc$", "", "True", "", "'abc'") == ""
    assert vstr("^abc$", "", "False", "", "'abc'") != ""


def test_validate_string_bad_parameters_fail_the_literal():
    assert run("validate_string", "([", "", "", "", "x") is None  # bad regex
    assert run("validate_string", "", "ten", "", "", "x") is None  # bad max_length
    assert run("validate_string", "", "", "maybe", "", "x") is None  # bad boolean
