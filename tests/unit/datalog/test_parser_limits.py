"""Inputs at the edges of what Python itself converts are rejected as policy errors, not crashes."""

from __future__ import annotations

import sys

import pytest

from congress.datalog.parser import parse_statements
from congress.exceptions import CongressError, LexError
from congress.policy.runtime import Runtime


def test_integer_longer_than_python_converts_is_a_lex_error() -> None:
    digits = "7" * (sys.get_int_max_str_digits() + 10)
    with pytest.raises(LexError) as e:
        parse_statements(f"p({digits})")
    assert e.value.code == "lex_error"
    assert f"integer literal too long ({len(digits)} digits)" in e.value.message
    assert e.value.position == (1, 2)       # where the number starts


def test_long_integer_insert_leaves_the_policy_unchanged() -> None:
    rt = Runtime()
    rt.create_policy("p")
    rt.insert("p", "q(1)")
    before = rt.select("p", "q")
    assert len(before) == 1
    with pytest.raises(CongressError):
        rt.insert("p", "q(2) q(" + "9" * 5000 + ")")
    assert rt.select("p", "q") == before
    # a long integer Python can still convert is an ordinary value
    rt.insert("p", "q(" + "9" * 100 + ")")
    after = rt.select("p", "q")
    assert len(after) == 2 and all(r in after for r in before)
