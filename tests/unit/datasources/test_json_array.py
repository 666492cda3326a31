"""Element-by-element decoding of pushed JSON arrays (congress.datasources.json_array): the
values and errors of json.loads, and elements known from an earlier body reused exactly."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from congress.datasources import json_array
from congress.datasources.json_array import InvalidJson, decode, reject_constant

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False,
                                                                 allow_infinity=False) \
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8) \
    | st.sampled_from(["}", "},{", "}, {", "\"}]", "\\", "]", "{}"])
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=4) | st.sampled_from(["}", "},"]),
                                        inner, max_size=4), max_leaves=12)
separators = st.sampled_from([(", ", ": "), (",", ":"), (" ,\n ", " : ")])


def loads(text: str) -> Any:
    return json.loads(text, parse_constant=reject_constant)


@settings(max_examples=300, deadline=None)
@given(st.lists(values, max_size=8), separators, st.sampled_from(["", " ", "\n\t "]))
def test_decode_is_json_loads(items: list[Any], sep: tuple[str, str], pad: str) -> None:
    text = pad + json.dumps(items, separators=sep) + pad
    got, known = decode(text, remember=True)
    assert got == loads(text)
    # every object element is remembered by its exact text
    assert all(loads("{" + raw + "}") == value for raw, value in known.items())


@settings(max_examples=300, deadline=None)
@given(st.lists(values, max_size=8), st.lists(values, max_size=8), separators, separators)
def test_known_elements_give_what_decoding_gives(old: list[Any], new: list[Any],
                                                 sep1: tuple[str, str],
                                                 sep2: tuple[str, str]) -> None:
    """With the elements of an earlier body known, the result is the fresh decode's, whatever
    the bodies (elements shared, reordered, changed; strings that look like separators)."""
    def convert(i: int, value: Any) -> Any:
        return ("converted", json.dumps(value, sort_keys=True))

    _, known = decode(json.dumps(old + new[:3], separators=sep1), convert, remember=True)
    body = json.dumps(new + old[::-1], separators=sep2)
    fresh, _ = decode(body, convert)
    again, known2 = decode(body, convert, known, remember=True)
    assert again == fresh
    # and what is remembered for the next body is this body's elements only
    assert all(raw in body for raw in known2)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="}, {ab", max_size=60), st.integers(4, 12))
def test_split_in_windows_is_str_split(text: str, window: int) -> None:
    with mock.patch.object(json_array, "_WINDOW", window):
        assert json_array._split(text, 0, len(text)) == text.split("}, {")
        assert json_array._split("[" + text + "]", 1, len(text) + 1) == text.split("}, {")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["a", "b", "}, {"]), scalars, max_size=3),
                max_size=12), st.integers(0, 11))
def test_small_windows_and_batches_change_nothing(items: list[Any], change: int) -> None:
    _, known = decode(json.dumps(items), remember=True)
    changed = [dict(x) for x in items]
    if changed:
        changed[change % len(changed)]["new"] = change
    body = json.dumps(changed)
    with mock.patch.object(json_array, "_WINDOW", 5), mock.patch.object(json_array,
                                                                         "_BATCH", 2):
        got, again = decode(body, None, known, remember=True)
    assert got == changed
    assert again == decode(body, remember=True)[1]


def test_a_known_element_is_neither_decoded_nor_converted_again() -> None:
    calls: list[int] = []

    def convert(i: int, value: Any) -> tuple[Any, ...]:
        calls.append(i)
        return (value["a"],)

    body = json.dumps([{"a": i, "b": {"c": "}, {"}} for i in range(100)])
    rows, known = decode(body, convert, remember=True)
    assert len(calls) == 100 and len(known) == 100
    changed = json.loads(body)
    changed[7]["b"]["c"] = "other"
    calls.clear()
    rows2, _ = decode(json.dumps(changed), convert, known, remember=True)
    assert calls == [7]
    assert rows2 == rows
    assert all(rows2[i] is rows[i] for i in range(100) if i != 7)


@pytest.mark.parametrize("text", [
    "", "  ", "[", "[1", "[1 2]", "[1,]", "[,1]", "[1] x", "[1]]", '[{"a": 1}', '[{"a" 1}]',
    "[NaN]", "[1, Infinity]", "[-Infinity]", "[01]", "[tru]", '["\\x"]', "[" * 100000,
    "[1 ,]", "[1 , 2 x]", "[1\n", "[1 ]  ]", "[{} {}]", "[1,\t]",
])
def test_invalid_text_fails_as_json_loads_does(text: str) -> None:
    with pytest.raises(InvalidJson) as info:
        decode(text)
    try:
        loads(text)
    except RecursionError:
        assert str(info.value) == "nested too deeply"
    except ValueError as e:
        assert str(info.value) == str(e)
    else:
        raise AssertionError("json.loads accepted it")


def test_lone_surrogates_are_refused() -> None:
    assert decode('["\\ud83d\\ude00"]')[0] == ["\U0001F600"]
    with pytest.raises(InvalidJson, match="lone surrogate"):
        decode('[["a"], ["\\ud800"]]')


def test_is_array() -> None:
    assert json_array.is_array(" \n[1]") and json_array.is_array("[")
    assert not json_array.is_array('{"a": 1}') and not json_array.is_array("")
    assert not json_array.is_array("\u00a0[1]")      # not JSON whitespace


# --------------------------------------------------------------------------- decode_body
def convert(_i: int, value: Any) -> str:
    return json.dumps(value, sort_keys=True)


objects = st.dictionaries(st.sampled_from(["a", "b", "}, {", "\"", "details"]),
                          values, max_size=3)
edits = st.lists(st.tuples(st.sampled_from(["set", "insert", "delete"]), st.integers(0, 40),
                           objects), max_size=4)


def edited(items: list[Any], steps: list[tuple[str, int, Any]]) -> list[Any]:
    out = list(items)
    for op, at, value in steps:
        at = at % (len(out) + 1)
        if op == "insert":
            out.insert(at, value)
        elif out and at < len(out):
            if op == "set":
                out[at] = value
            else:
                del out[at]
    return out


def check_body(body: json_array.Body, text: str, last_values: list[Any] | None) -> None:
    assert body.values == [convert(i, v) for i, v in enumerate(loads(text))]
    known = body.known_map()
    assert all(convert(0, loads("{" + raw + "}")) == value for raw, value in known.items())
    # where each element ends: as a decode of the whole text finds it (and "," or "]"
    # follows)
    assert list(body.ends) == list(json_array.decode_body(text, convert).ends)
    assert all(text[json_array._skip_ws(text, e)] in ",]" for e in body.ends)
    if body.added is not None:
        from collections import Counter
        assert Counter(last_values) - Counter(body.removed) + Counter(body.added) \
            == Counter(body.values)


@settings(max_examples=300, deadline=None)
@given(st.lists(objects, min_size=1, max_size=30), edits, edits, separators, st.booleans())
def test_decode_body_against_the_last_body_is_decoding_it(
        items: list[Any], first: list[Any], second: list[Any], sep: tuple[str, str],
        resep: bool) -> None:
    with mock.patch.object(json_array, "_MIN_PREFIX", 1):
        texts = [json.dumps(items, separators=sep),
                 json.dumps(edited(items, first), separators=sep)]
        texts.append(json.dumps(edited(loads(texts[1]), second),
                                separators=(", ", ": ") if resep else sep))
        last = None
        for text in texts:
            before = None if last is None else list(last.values)
            last = json_array.decode_body(text, convert, last)
            check_body(last, text, before)


def counting_convert() -> tuple[Any, list[int]]:
    """``convert``, and the list of the indexes it was called for."""
    calls: list[int] = []

    def counting(i: int, value: Any) -> str:
        calls.append(i)
        return convert(i, value)

    return counting, calls


def test_decode_body_decodes_only_what_changed() -> None:
    items = [{"id": i, "v": "x" * 50} for i in range(2000)]
    first = json_array.decode_body(json.dumps(items), convert)
    assert first.added is None
    items[1000] = {"id": 1000, "v": "changed"}
    counting, calls = counting_convert()
    again = json_array.decode_body(json.dumps(items), counting, first)
    assert calls == [1000]
    assert again.added == [convert(0, items[1000])]
    assert again.removed == [convert(0, {"id": 1000, "v": "x" * 50})]
    assert again.values == [convert(0, v) for v in items]
    # an event appended, one dropped at the start
    items = items[1:] + [{"id": 2000, "v": "new"}]
    calls.clear()
    third = json_array.decode_body(json.dumps(items), counting, again)
    assert third.values == [convert(0, v) for v in items]
    assert len(calls) <= 1


def test_decode_body_errors_are_json_loads_errors() -> None:
    items = [{"id": i, "v": "x" * 50} for i in range(2000)]
    first = json_array.decode_body(json.dumps(items), convert)
    good = json.dumps(items)
    for bad in (good[:-1], good[:50000] + "}" + good[50000:], good.replace('"id": 1500',
                                                                           '"id": NaN')):
        with pytest.raises(InvalidJson) as got:
            json_array.decode_body(bad, convert, first)
        with pytest.raises(ValueError) as expected:
            loads(bad)
        assert str(got.value) == str(expected.value)
        # the last body is intact: it still decodes what it decoded
        check_body(json_array.decode_body(good, convert, first), good, list(first.values))


@settings(max_examples=100, deadline=None)
@given(st.lists(values, min_size=1, max_size=10), edits)
def test_decode_body_of_any_elements(items: list[Any], steps: list[Any]) -> None:
    """Arrays whose elements are not all objects (or repeat one) are decoded whole."""
    with mock.patch.object(json_array, "_MIN_PREFIX", 1):
        first = json_array.decode_body(json.dumps(items), convert)
        check_body(first, json.dumps(items), None)
        text = json.dumps(edited(items, steps))
        check_body(json_array.decode_body(text, convert, first), text, list(first.values))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab", max_size=40), st.text(alphabet="ab", max_size=40),
       st.text(alphabet="ab", max_size=40), st.integers(1, 5))
def test_shared_prefix_and_suffix(head: str, a: str, b: str, scale: int) -> None:
    import os.path
    x, y = head * scale + a, head * scale + b
    limit = min(len(x), len(y))
    assert json_array._shared(x, y, limit) == len(os.path.commonprefix([x, y]))
    assert json_array._shared(x, y, limit, at_end=True) \
        == len(os.path.commonprefix([x[::-1], y[::-1]]))
    short = min(2, limit)       # at most limit characters, limit <= both lengths
    assert json_array._shared(x, y, short) == min(short, len(os.path.commonprefix([x, y])))


@pytest.mark.parametrize("sep", [(", ", ": "), (",", ":")])
def test_known_map_is_made_when_needed(sep: tuple[str, str]) -> None:
    """A body decoded whole keeps no map of its elements' texts; asked for one, it makes the
    map a decode with ``remember`` would have made (split at "}, {" or element by element)."""
    items = [{"id": i, "v": "}, {" if i % 7 == 0 else "x"} for i in range(50)] + [{"id": 1}]
    text = json.dumps(items, separators=sep)
    body = json_array.decode_body(text, convert)
    assert body.known is None
    _, expected = decode(text, convert, remember=True)
    assert body.known_map() == expected
    assert body.known_map() is body.known


def test_decode_body_two_changes_far_apart_decodes_two() -> None:
    """What lies between two changed elements is looked up among the last body's elements
    there, though the last body was decoded whole (no map of all its elements)."""
    items = [{"id": i, "v": "x" * 50} for i in range(2000)]
    first = json_array.decode_body(json.dumps(items), convert)
    items[100] = {"id": 100, "v": "changed"}
    items[1900] = {"id": 1900, "v": "changed too"}
    counting, calls = counting_convert()
    again = json_array.decode_body(json.dumps(items), counting, first)
    assert sorted(calls) == [100, 1900]
    assert again.values == [convert(0, v) for v in items]
    # the change, as a multiset: the elements in between are both removed and added
    from collections import Counter
    assert Counter(again.removed) - Counter(again.added) == Counter(
        [convert(0, {"id": 100, "v": "x" * 50}), convert(0, {"id": 1900, "v": "x" * 50})])
