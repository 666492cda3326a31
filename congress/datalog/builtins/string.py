"""String builtins: concat, len.

``concat`` is Python's ``+`` (two numbers add, as they did in OpenStack Congress); ``len`` of a
non-string number fails the literal.
"""

from __future__ import annotations

import operator

from congress.datalog.builtins.base import Builtin

FAMILY = "string"

BUILTINS: list[Builtin] = [
    Builtin("concat", 3, 2, operator.add, FAMILY, "concat(x, y, z): z = x + y"),
    Builtin("len", 2, 1, len, FAMILY, "len(x, y): y is the length of x"),
]
