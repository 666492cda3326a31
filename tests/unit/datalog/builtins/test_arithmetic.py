from __future__ import annotations

import math

import pytest

from .helpers import run


@pytest.mark.parametrize(
    "name, x, y, expected",
    [
        ("plus", 1, 2, 3),
        ("plus", 1, 2.5, 3.5),
        ("plus", -1, 1, 0),
        ("plus", "a", "b", "ab"),
        ("minus", 5, 7, -2),
        ("minus", 1.5, 0.5, 1.0),
        ("mul", 3, 4, 12),
        ("mul", 2.5, 2, 5.0),
        ("mul", "ab", 2, "abab"),
        ("div", 7, 2, 3),
        ("div", -7, 2, -4),
        ("div", 7.0, 2, 3.5),
        ("div", 7, 2.0, 3.5),
        ("div", 6, 3, 2),
    ],
)
def test_binary_ops(name, x, y, expected):
    out = run(name, x, y)
    assert out == (expected,)
    assert type(out[0]) is type(expected)


def test_div_int_result_is_int():
    assert type(run("div", 6, 3)[0]) is int
    assert type(run("div", 6.0, 3)[0]) is float


@pytest.mark.parametrize("x, y", [(1, 0), (1.0, 0), (1, 0.0), (0, 0)])
def test_div_by_zero_fails(x, y):
    assert run("div", x, y) is None


@pytest.mark.parametrize(
    "name, x, y",
    [
        ("plus", 1, "a"),
        ("minus", "a", "b"),
        ("minus", 1, "a"),
        ("mul", "a", "b"),
        ("div", "a", 2),
        ("div", 4, "2"),
    ],
)
def test_bad_types_fail(name, x, y):
    assert run(name, x, y) is None


def test_float():
    assert run("float", 3) == (3.0,)
    assert type(run("float", 3)[0]) is float
    assert run("float", "2.5") == (2.5,)
    assert run("float", " 1e3 ") == (1000.0,)
    assert math.isinf(run("float", "inf")[0])
    assert run("float", "abc") is None
    assert run("float", "") is None
    assert run("float", 10**400) is None  # OverflowError


def test_int():
    assert run("int", "42") == (42,)
    assert run("int", " -7 ") == (-7,)
    assert run("int", 3.9) == (3,)
    assert run("int", -3.9) == (-3,)
    assert type(run("int", 3.9)[0]) is int
    assert run("int", "3.5") is None
    assert run("int", "abc") is None
    assert run("int", float("inf")) is None
    assert run("int", float("nan")) is None
