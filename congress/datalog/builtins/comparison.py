"""Comparison builtins: lt, lteq, equal, gt, gteq, max.

Python's own operators decide, so comparing values of mismatched types (``lt(1, "a")``) raises
TypeError and the literal fails; ``equal(1, "1")`` is simply false.
"""

from __future__ import annotations

import operator

from congress.datalog.builtins.base import Builtin

FAMILY = "comparison"

BUILTINS: list[Builtin] = [
    Builtin("lt", 2, 2, operator.lt, FAMILY, "lt(x, y): true if x < y"),
    Builtin("lteq", 2, 2, operator.le, FAMILY, "lteq(x, y): true if x <= y"),
    Builtin("equal", 2, 2, operator.eq, FAMILY, "equal(x, y): true if x == y"),
    Builtin("gt", 2, 2, operator.gt, FAMILY, "gt(x, y): true if x > y"),
    Builtin("gteq", 2, 2, operator.ge, FAMILY, "gteq(x, y): true if x >= y"),
    Builtin("max", 3, 2, max, FAMILY, "max(x, y, z): z is the larger of x and y"),
]
