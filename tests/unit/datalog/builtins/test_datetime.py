from __future__ import annotations

import re

import pytest

from congress.datalog.builtins.datetime import to_datetime, to_timedelta

from .helpers import holds, run

BAD_DATETIMES = ["not a date", "", "2020-02-30", "2020-13-01 00:00:00", "25:00:00", 20200101, 1.5]


def test_now_format():
    (value,) = run("now")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", value)
    # It parses back with the other builtins.
    assert run("extract_date", value) == (value[:10],)


def test_unpack_date_time_datetime():
    assert run("unpack_date", "2020-01-02 03:04:05") == (2020, 1, 2)
    assert run("unpack_time", "2020-01-02 03:04:05") == (3, 4, 5)
    assert run("unpack_datetime", "2020-01-02 03:04:05") == (2020, 1, 2, 3, 4, 5)
    out = run("unpack_datetime", "2020-01-02 03:04:05")
    assert all(type(v) is int for v in out)


def test_unpack_other_formats_via_dateutil():
    assert run("unpack_datetime", "Jan 2, 2020 3:04:05 PM") == (2020, 1, 2, 15, 4, 5)
    assert run("unpack_datetime", "2020-01-02T03:04:05Z") == (2020, 1, 2, 3, 4, 5)
    assert run("unpack_date", "02/01/2020") == (2020, 2, 1)  # dateutil: month first
    assert run("unpack_time", "2020-01-02") == (0, 0, 0)


def test_timezone_is_ignored_not_converted():
    assert run("unpack_time", "2020-01-02T03:04:05+05:00") == (3, 4, 5)
    assert run("unpack_time", "2020-01-02 03:04:05 -0800") == (3, 4, 5)
    assert holds("datetime_equal", "2020-01-01T10:00:00+05:00", "2020-01-01 10:00:00")


@pytest.mark.parametrize("bad", BAD_DATETIMES)
def test_malformed_datetimes_fail(bad):
    assert run("unpack_date", bad) is None
    assert run("unpack_time", bad) is None
    assert run("unpack_datetime", bad) is None
    assert run("extract_date", bad) is None
    assert run("extract_time", bad) is None
    assert run("datetime_to_seconds", bad) is None
    assert run("datetime_plus", bad, 1) is None
    assert run("datetime_lt", bad, "2020-01-01") is None
    assert run("datetime_equal", "2020-01-01", bad) is None


def test_pack_without_zero_padding():
    assert run("pack_time", 3, 4, 5) == ("3:4:5",)
    assert run("pack_date", 2020, 1, 2) == ("2020-1-2",)
    assert run("pack_datetime", 2020, 1, 2, 3, 4, 5) == ("2020-1-2 3:4:5",)
    assert run("pack_time", 13, 45, 59) == ("13:45:59",)


def test_pack_formats_whatever_it_gets():
    # No validation: values are formatted as given.
    assert run("pack_date", "2020", "01", "02") == ("2020-01-02",)
    assert run("pack_time", 25, 99, 1.5) == ("25:99:1.5",)


def test_pack_output_round_trips():
    (packed,) = run("pack_datetime", 2021, 3, 4, 5, 6, 7)
    assert run("unpack_datetime", packed) == (2021, 3, 4, 5, 6, 7)


def test_extract_date_and_time():
    assert run("extract_date", "2020-01-02 03:04:05") == ("2020-01-02",)
    assert run("extract_time", "2020-01-02 03:04:05") == ("03:04:05",)
    assert run("extract_time", "2020-01-02 03:04:05.25") == ("03:04:05.250000",)
    assert run("extract_date", "March 5 1999 10:00") == ("1999-03-05",)
    assert run("extract_time", "2020-01-02") == ("00:00:00",)


def test_datetime_to_seconds():
    assert run("datetime_to_seconds", "1900-01-01 00:00:00") == (0,)
    assert run("datetime_to_seconds", "1900-01-02") == (86400,)
    assert run("datetime_to_seconds", "1900-01-01 00:00:01.999") == (1,)
    assert run("datetime_to_seconds", "1899-12-31 23:59:59") == (-1,)
    assert run("datetime_to_seconds", "1970-01-01 00:00:00") == (2208988800,)
    assert type(run("datetime_to_seconds", "2000-01-01")[0]) is int


@pytest.mark.parametrize(
    "duration, expected",
    [
        (90, "2020-01-01 00:01:30"),
        (0, "2020-01-01 00:00:00"),
        (1.5, "2020-01-01 00:00:01.500000"),
        (-60, "2019-12-31 23:59:00"),
        ("30", "2020-01-01 00:00:30"),
        ("2:30", "2020-01-01 00:02:30"),
        ("1:0:0", "2020-01-01 01:00:00"),
        ("1:0:0:0", "2020-01-02 00:00:00"),
        ("1:0:0:0:0", "2020-01-08 00:00:00"),
        ("0:1:2:3:4", "2020-01-02 02:03:04"),
        ("-5", "2019-12-31 23:59:55"),
        ("0:90", "2020-01-01 00:01:30"),
    ],
)
def test_datetime_plus(duration, expected):
    assert run("datetime_plus", "2020-01-01 00:00:00", duration) == (expected,)


def test_datetime_minus():
    assert run("datetime_minus", "2020-01-01 00:00:00", 1) == ("2019-12-31 23:59:59",)
    assert run("datetime_minus", "2020-03-01", "1:0:0:0") == ("2020-02-29 00:00:00",)
    assert run("datetime_minus", "2020-01-08 12:00:00", "1:0:0:0:0") == ("2020-01-01 12:00:00",)
    assert run("datetime_minus", "2020-01-01", -30) == ("2020-01-01 00:00:30",)


@pytest.mark.parametrize("bad", ["", "a", "1:a", "1.5", "1:2:3:4:5:6", ":", None, [1]])
def test_malformed_durations_fail(bad):
    assert run("datetime_plus", "2020-01-01", bad) is None
    assert run("datetime_minus", "2020-01-01", bad) is None


def test_datetime_overflow_fails():
    assert run("datetime_plus", "9999-12-31 23:59:59", 1) is None
    assert run("datetime_minus", "0001-01-01 00:00:00", 1) is None


def test_datetime_comparisons():
    a, b = "2020-01-01 10:00:00", "2020-01-01T10:00:01"
    assert holds("datetime_lt", a, b)
    assert not holds("datetime_lt", b, a)
    assert not holds("datetime_lt", a, a)
    assert holds("datetime_lteq", a, a)
    assert holds("datetime_lteq", a, b)
    assert not holds("datetime_lteq", b, a)
    assert holds("datetime_gt", b, a)
    assert not holds("datetime_gt", a, a)
    assert holds("datetime_gteq", a, a)
    assert holds("datetime_gteq", b, a)
    assert not holds("datetime_gteq", a, b)
    assert holds("datetime_equal", a, "Jan 1 2020 10:00 AM")
    assert not holds("datetime_equal", a, b)
    # Different spellings of one datetime compare equal, unlike plain string equality.
    assert holds("datetime_equal", "2020-01-01", "2020-01-01 00:00:00")


def test_helpers_directly():
    assert to_datetime("10:30").hour == 10 and to_datetime("10:30").minute == 30
    assert to_timedelta("1:2:3:4:5").total_seconds() == 1 * 604800 + 2 * 86400 + 3 * 3600 + 245
    with pytest.raises(TypeError):
        to_timedelta(True)
