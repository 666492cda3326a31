from __future__ import annotations

from .helpers import run


def test_concat():
    assert run("concat", "foo", "bar") == ("foobar",)
    assert run("concat", "", "") == ("",)
    assert run("concat", "a", "") == ("a",)
    assert run("concat", "é", "ß") == ("éß",)


def test_concat_follows_python_plus():
    # As in OpenStack Congress, concat is "+": two numbers add, a string and a number fail.
    assert run("concat", 1, 2) == (3,)
    assert run("concat", "a", 1) is None
    assert run("concat", 1, "a") is None


def test_len():
    assert run("len", "abc") == (3,)
    assert run("len", "") == (0,)
    assert run("len", "日本") == (2,)
    assert type(run("len", "abc")[0]) is int


def test_len_of_number_fails():
    assert run("len", 123) is None
    assert run("len", 1.5) is None
