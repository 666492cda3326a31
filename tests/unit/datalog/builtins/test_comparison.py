from __future__ import annotations

import pytest

from .helpers import holds, run


@pytest.mark.parametrize(
    "name, x, y, expected",
    [
        ("lt", 1, 2, True),
        ("lt", 2, 2, False),
        ("lt", 3, 2, False),
        ("lt", 1.5, 2, True),
        ("lt", "a", "b", True),
        ("lteq", 2, 2, True),
        ("lteq", 2.0, 2, True),
        ("lteq", 3, 2, False),
        ("equal", 2, 2, True),
        ("equal", 2, 2.0, True),
        ("equal", "a", "a", True),
        ("equal", "1", 1, False),
        ("equal", "a", "b", False),
        ("gt", 3, 2, True),
        ("gt", 2, 2, False),
        ("gt", "b", "a", True),
        ("gteq", 2, 2, True),
        ("gteq", 1, 2, False),
        ("gteq", -1.0, -2, True),
    ],
)
def test_comparisons(name, x, y, expected):
    assert holds(name, x, y) is expected


@pytest.mark.parametrize("name", ["lt", "lteq", "gt", "gteq"])
def test_ordering_mismatched_types_fails(name):
    assert run(name, 1, "a") is None
    assert run(name, "a", 1.0) is None


def test_max():
    assert run("max", 1, 2) == (2,)
    assert run("max", 3, 2) == (3,)
    assert run("max", 2, 2.5) == (2.5,)
    assert run("max", "abc", "abd") == ("abd",)
    assert run("max", -1, -2) == (-1,)
    assert run("max", 1, "a") is None
