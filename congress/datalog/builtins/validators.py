"""Type-validation builtins modelled on oslo.config's Integer, Float and String types.

Each returns ``""`` when the value passes and otherwise a short error text saying what is wrong,
so a policy can write ``validate_int(min, max, v, err), not equal("", err)``. An empty-string
bound means "no bound". Problems with the *parameters* rather than the value (a bound that is not
a number, maximum below minimum, a bad regex, an unrecognised boolean) fail the literal instead.

Behaviour kept from oslo.config:
- numbers: a value that is not already of the type is converted with ``int()``/``float()``
  (so ``validate_int`` accepts ``"12"`` and truncates the float ``3.7``); an empty or
  whitespace-only value is valid; bounds are inclusive.
- strings: the value is ``str(value)``; with ``quotes``, one pair of matching surrounding quotes
  is stripped and an opening quote without its closing one is an error; ``max_length`` <= 0 or
  ``""`` means unlimited; ``regex`` must match somewhere (``re.search``), case-insensitively when
  ``ignore_case``.
"""

from __future__ import annotations

import re
from typing import Any

from congress.datalog.builtins.base import Builtin

FAMILY = "validators"

_TRUE = frozenset(("1", "true", "t", "yes", "y", "on"))
_FALSE = frozenset(("", "0", "false", "f", "no", "n", "off", "none"))


def _bound(value: Any, num_type: type) -> int | float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TypeError("a bound must be a number")
    if isinstance(value, (int, float)):
        return value
    return num_type(str(value).strip())


def _flag(value: Any) -> bool:
    if isinstance(value, (bool, int, float)):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _check_number(num_type: type, minimum: Any, maximum: Any, value: Any) -> str:
    low = _bound(minimum, num_type)
    high = _bound(maximum, num_type)
    if low is not None and high is not None and high < low:
        raise ValueError("maximum is less than minimum")
    if not isinstance(value, num_type) or isinstance(value, bool):
        if str(value).strip() == "":
            return ""
        try:
            value = num_type(value)
        except (TypeError, ValueError, OverflowError) as exc:
            return str(exc)
    if low is not None and value < low:
        return f"Should be greater than or equal to {low:g}"
    if high is not None and value > high:
        return f"Should be less than or equal to {high:g}"
    return ""


def validate_int(minimum: Any, maximum: Any, value: Any) -> str:
    return _check_number(int, minimum, maximum, value)


def validate_float(minimum: Any, maximum: Any, value: Any) -> str:
    return _check_number(float, minimum, maximum, value)


def validate_string(regex: Any, max_length: Any, quotes: Any, ignore_case: Any, value: Any) -> str:
    pattern = None
    if regex is not None and regex != "":
        pattern = re.compile(str(regex), re.IGNORECASE if _flag(ignore_case) else 0)
    limit = int(_bound(max_length, int) or 0)
    text = str(value)
    if text and _flag(quotes) and text[0] in "\"'":
        if len(text) == 1 or text[-1] != text[0]:
            return f"Non-closed quote: {text}"
        text = text[1:-1]
    if limit > 0 and len(text) > limit:
        return f"Value {text!r} exceeds maximum length {limit}"
    if pattern is not None and pattern.search(text) is None:
        return f"Value {text!r} doesn't match regex {pattern.pattern!r}"
    return ""


BUILTINS: list[Builtin] = [
    Builtin(
        "validate_int",
        4,
        3,
        validate_int,
        FAMILY,
        'validate_int(min, max, value, result): result = "" if value is an integer within '
        '[min, max] ("" = no bound), else the error',
    ),
    Builtin(
        "validate_float",
        4,
        3,
        validate_float,
        FAMILY,
        'validate_float(min, max, value, result): result = "" if value is a float within '
        '[min, max] ("" = no bound), else the error',
    ),
    Builtin(
        "validate_string",
        6,
        5,
        validate_string,
        FAMILY,
        'validate_string(regex, max_length, quotes, ignore_case, value, result): result = "" '
        "if value is a valid string (oslo.config String type), else the error",
    ),
]
