"""Datetime builtins.

Datetimes are strings in any format ``dateutil.parser`` understands; a timezone, if present, is
dropped (not converted). Fields missing from the string default as in dateutil (the date to
today, the time to midnight). Durations are a number of seconds or a string ``"s"``, ``"m:s"``,
``"h:m:s"``, ``"d:h:m:s"`` or ``"w:d:h:m:s"`` of integers. Results are strings as printed by
Python's ``datetime`` (``str(datetime)``), except ``pack_*`` which format the numbers given as
they are, without zero padding.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from typing import Any

from dateutil import parser as _dateutil_parser

from congress.datalog.builtins.base import Builtin

FAMILY = "datetime"

_EPOCH_1900 = _dt.datetime(1900, 1, 1)
_DURATION_KEYS = ("seconds", "minutes", "hours", "days", "weeks")

# Strings of this shape mean the same to datetime.fromisoformat and to dateutil, and the former is
# ~100 times faster.
_ISO_FAST = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?")


@functools.lru_cache(maxsize=2048)
def _parse_slow(text: str, today: _dt.date) -> _dt.datetime:
    # dateutil fills missing fields from "today at midnight": ``today`` is part of the cache key
    # so cached results never outlive the day they were computed on.
    return _dateutil_parser.parse(text, ignoretz=True)


def to_datetime(x: Any) -> _dt.datetime:
    """Parse a datetime string (timezone ignored); raises on anything unparsable."""
    if not isinstance(x, str):
        raise TypeError(f"datetime must be a string, not {type(x).__name__}")
    if _ISO_FAST.fullmatch(x):
        try:
            return _dt.datetime.fromisoformat(x)
        except ValueError:
            pass  # e.g. day out of range: let dateutil report it
    return _parse_slow(x, _dt.date.today())


def to_timedelta(x: Any) -> _dt.timedelta:
    """A duration: a number of seconds, or "s", "m:s", "h:m:s", "d:h:m:s", "w:d:h:m:s"."""
    if isinstance(x, str):
        fields = x.split(":")
        if len(fields) > len(_DURATION_KEYS):
            raise ValueError(f"too many fields in duration {x!r}")
        kwargs = {
            key: int(value) for key, value in zip(_DURATION_KEYS, reversed(fields), strict=False)
        }
        return _dt.timedelta(**kwargs)
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"duration must be a number or a string, not {type(x).__name__}")
    return _dt.timedelta(seconds=x)


def now() -> str:
    return _dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def unpack_date(x: Any) -> tuple[int, int, int]:
    d = to_datetime(x)
    return (d.year, d.month, d.day)


def unpack_time(x: Any) -> tuple[int, int, int]:
    d = to_datetime(x)
    return (d.hour, d.minute, d.second)


def unpack_datetime(x: Any) -> tuple[int, int, int, int, int, int]:
    d = to_datetime(x)
    return (d.year, d.month, d.day, d.hour, d.minute, d.second)


def pack_time(hours: Any, minutes: Any, seconds: Any) -> str:
    return f"{hours}:{minutes}:{seconds}"


def pack_date(year: Any, month: Any, day: Any) -> str:
    return f"{year}-{month}-{day}"


def pack_datetime(year: Any, month: Any, day: Any, hours: Any, minutes: Any, seconds: Any) -> str:
    return f"{year}-{month}-{day} {hours}:{minutes}:{seconds}"


def extract_date(x: Any) -> str:
    return str(to_datetime(x).date())


def extract_time(x: Any) -> str:
    return str(to_datetime(x).time())


def datetime_to_seconds(x: Any) -> int:
    """Whole seconds since 1900-01-01 00:00:00 (truncated toward zero)."""
    return int((to_datetime(x) - _EPOCH_1900).total_seconds())


def datetime_plus(x: Any, y: Any) -> str:
    return str(to_datetime(x) + to_timedelta(y))


def datetime_minus(x: Any, y: Any) -> str:
    return str(to_datetime(x) - to_timedelta(y))


def datetime_lt(x: Any, y: Any) -> bool:
    return to_datetime(x) < to_datetime(y)


def datetime_lteq(x: Any, y: Any) -> bool:
    return to_datetime(x) <= to_datetime(y)


def datetime_gt(x: Any, y: Any) -> bool:
    return to_datetime(x) > to_datetime(y)


def datetime_gteq(x: Any, y: Any) -> bool:
    return to_datetime(x) >= to_datetime(y)


def datetime_equal(x: Any, y: Any) -> bool:
    return to_datetime(x) == to_datetime(y)


def _b(name: str, arity: int, num_inputs: int, fn: Any, doc: str) -> Builtin:
    return Builtin(name, arity, num_inputs, fn, FAMILY, doc)


BUILTINS: list[Builtin] = [
    _b("now", 1, 0, now, "now(x): x is the current local time as YYYY-MM-DD HH:MM:SS"),
    _b(
        "unpack_date",
        4,
        1,
        unpack_date,
        "unpack_date(x, year, month, day): the date fields of datetime x as integers",
    ),
    _b(
        "unpack_time",
        4,
        1,
        unpack_time,
        "unpack_time(x, hours, minutes, seconds): the time fields of datetime x as integers",
    ),
    _b(
        "unpack_datetime",
        7,
        1,
        unpack_datetime,
        "unpack_datetime(x, y, m, d, h, i, s): year, month, day, hours, minutes, seconds of x",
    ),
    _b(
        "pack_time",
        4,
        3,
        pack_time,
        'pack_time(hours, minutes, seconds, result): result = "h:m:s" (no zero padding)',
    ),
    _b(
        "pack_date",
        4,
        3,
        pack_date,
        'pack_date(year, month, day, result): result = "y-m-d" (no zero padding)',
    ),
    _b(
        "pack_datetime",
        7,
        6,
        pack_datetime,
        'pack_datetime(y, m, d, h, i, s, result): result = "y-m-d h:i:s" (no zero padding)',
    ),
    _b("extract_date", 2, 1, extract_date, "extract_date(x, y): y is the date of x, YYYY-MM-DD"),
    _b("extract_time", 2, 1, extract_time, "extract_time(x, y): y is the time of x, HH:MM:SS"),
    _b(
        "datetime_to_seconds",
        2,
        1,
        datetime_to_seconds,
        "datetime_to_seconds(x, y): y is the number of whole seconds from 1900-01-01 to x",
    ),
    _b(
        "datetime_plus",
        3,
        2,
        datetime_plus,
        'datetime_plus(x, y, z): z = x + duration y (seconds or "[[[[w:]d:]h:]m:]s")',
    ),
    _b(
        "datetime_minus",
        3,
        2,
        datetime_minus,
        'datetime_minus(x, y, z): z = x - duration y (seconds or "[[[[w:]d:]h:]m:]s")',
    ),
    _b("datetime_lt", 2, 2, datetime_lt, "datetime_lt(x, y): true if datetime x < y"),
    _b("datetime_lteq", 2, 2, datetime_lteq, "datetime_lteq(x, y): true if datetime x <= y"),
    _b("datetime_gt", 2, 2, datetime_gt, "datetime_gt(x, y): true if datetime x > y"),
    _b("datetime_gteq", 2, 2, datetime_gteq, "datetime_gteq(x, y): true if datetime x >= y"),
    _b(
        "datetime_equal",
        2,
        2,
        datetime_equal,
        "datetime_equal(x, y): true if datetimes x and y are equal (timezones ignored)",
    ),
]
