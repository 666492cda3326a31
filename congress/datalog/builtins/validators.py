"""Type-validation builtins: oslo.config's Integer, Float and String types (as in OpenStack
Congress).

Each returns ``""`` when the value passes and otherwise the error text oslo.config gives (a
``ValueError`` or ``TypeError`` message), so a policy can write ``validate_int(min, max, v, err),
not equal("", err)``. An empty-string bound or regex means "none". The arguments go to oslo.config
as they are, as OpenStack Congress passed them: a bound that is a string, maximum below minimum or
a bad flag give an error *text* too (whatever oslo.config says), they do not fail the literal.
oslo.config converts the value (``"12"`` is a valid int; an empty or whitespace-only value is
valid); ``quotes`` and ``ignore_case`` are taken for their truth value.
"""

from __future__ import annotations

from typing import Any

from oslo_config import types

from congress.datalog.builtins.base import Builtin

FAMILY = "validators"


def _none_if_empty(value: Any) -> Any:
    return None if value == "" else value


def _check(make: Any, value: Any) -> str:
    try:
        make()(value)
    except (ValueError, TypeError) as exc:
        return str(exc)
    return ""


def validate_int(minimum: Any, maximum: Any, value: Any) -> str:
    return _check(lambda: types.Integer(min=_none_if_empty(minimum),
                                        max=_none_if_empty(maximum)), value)


def validate_float(minimum: Any, maximum: Any, value: Any) -> str:
    return _check(lambda: types.Float(min=_none_if_empty(minimum),
                                      max=_none_if_empty(maximum)), value)


def validate_string(regex: Any, max_length: Any, quotes: Any, ignore_case: Any, value: Any) -> str:
    return _check(lambda: types.String(regex=_none_if_empty(regex), max_length=max_length,
                                       quotes=quotes, ignore_case=ignore_case), value)


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
