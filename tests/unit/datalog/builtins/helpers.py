"""Shared helper: evaluate a builtin through the registry, as the engine does."""

from __future__ import annotations

from congress.datalog.builtins import BUILTINS, lookup


def run(name: str, *inputs: object) -> tuple | None:
    """Evaluate builtin ``name`` on ``inputs`` (checks the number of inputs first)."""
    builtin = lookup(name, BUILTINS[name].arity)
    assert builtin is not None
    assert len(inputs) == builtin.num_inputs, f"{name} takes {builtin.num_inputs} inputs"
    return builtin.evaluate(tuple(inputs))


def holds(name: str, *inputs: object) -> bool:
    """For builtins without outputs: whether the literal succeeds."""
    result = run(name, *inputs)
    assert result in ((), None)
    return result == ()
