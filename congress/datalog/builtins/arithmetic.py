"""Arithmetic builtins: plus, minus, mul, div, float, int.

Plain Python semantics on the values given (so ``plus("a", "b")`` concatenates, as in the
original); a failing operation (ZeroDivisionError, TypeError, ValueError ...) fails the literal.
"""

from __future__ import annotations

import operator
from typing import Any

from congress.datalog.builtins.base import Builtin

FAMILY = "arithmetic"


def div(x: Any, y: Any) -> Any:
    """Floor division when both are ints, true division otherwise."""
    if type(x) is int and type(y) is int:
        return x // y
    return x / y


BUILTINS: list[Builtin] = [
    Builtin("plus", 3, 2, operator.add, FAMILY, "plus(x, y, z): z = x + y"),
    Builtin("minus", 3, 2, operator.sub, FAMILY, "minus(x, y, z): z = x - y"),
    Builtin("mul", 3, 2, operator.mul, FAMILY, "mul(x, y, z): z = x * y"),
    Builtin("div", 3, 2, div, FAMILY, "div(x, y, z): z = x // y if both are integers, else x / y"),
    Builtin("float", 2, 1, float, FAMILY, "float(x, y): y is x converted to a float"),
    Builtin("int", 2, 1, int, FAMILY, "int(x, y): y is x converted to an integer"),
]
