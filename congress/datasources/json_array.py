"""Decoding the JSON array of a pushed table (the body of ``PUT .../rows``) element by element.

``json.loads`` of a 50 MB body is one C call that holds the GIL for a second or more, during
which no other request of the server runs. :func:`decode` parses the same text one element at
a time with the decoder's own scanner, so other threads get their turns between elements (the
interpreter switches threads between bytecodes), and the values and error messages are
``json.loads``'s.

It also skips work for elements seen before: given ``known`` (the raw text of each object
element of an earlier body -> what ``convert`` made of it), an element whose exact text is in
``known`` is neither decoded nor converted again. That is sound because an object is
self-delimiting: if the text at the current position starts with a complete JSON object (a
key of ``known``, which decoded as one whole element before), a JSON parser reading from there
reads exactly that object and stops where it ends; only the separator after it is checked.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
from array import array
from collections.abc import Callable, Mapping
from typing import Any

from congress import exceptions

#: a ``}`` that ends an element: the next character that is not whitespace is ``,`` or ``]``
_OBJECT_END = re.compile(r"\}[ \t\n\r]*[,\]]")
_WS = " \t\n\r"
#: how many possible ends of an element are tried against ``known`` before decoding it
_CANDIDATES = 4
#: what separates the objects of an array as json.dumps writes it
_SEP = "}, {"
#: pieces looked up in ``known`` per call (what one C call may do while holding the GIL)
_BATCH = 20000
#: characters of text split per call
_WINDOW = 1 << 20
_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidJson(ValueError):
    """The text is not JSON (the message is the decoder's, with the position)."""


#: ``code`` of the BadRequest for a pushed body that is not JSON
INVALID_JSON = "invalid_json"


def invalid_json(exc: InvalidJson) -> exceptions.BadRequest:
    """The error for a pushed body that is not JSON (the API answers its message verbatim)."""
    return exceptions.BadRequest(f"Failed to parse body as application/json: {exc}",
                                 code=INVALID_JSON)


def reject_constant(name: str) -> Any:
    """NaN / Infinity are not JSON: stored, they would make every later answer invalid JSON."""
    raise ValueError(f"{name} is not a valid JSON value")


_scan = json.JSONDecoder(parse_constant=reject_constant).scan_once


def has_lone_surrogate(value: Any) -> bool:
    """Whether any string (or object key) in decoded JSON holds a surrogate code point (UTF-8
    cannot encode one, so it can only come from a lone ``\\uD8xx``..``\\uDFxx`` escape)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def is_array(text: str) -> bool:
    """Whether ``text`` starts (after JSON whitespace) with ``[``."""
    return text.lstrip(_WS)[:1] == "["


def decode(text: str, convert: Callable[[int, Any], Any] | None = None,
           known: Mapping[str, Any] | None = None, *,
           remember: bool = False) -> tuple[list[Any], dict[str, Any]]:
    """The elements of the JSON array ``text``, each passed through ``convert(index, value)``
    if given, and (``remember``) the ``known`` mapping of this text (the text inside the braces
    of each object element -> its converted value, never None) to give to the next call; else
    an empty dict.

    Raises :class:`InvalidJson` as ``json.loads`` would fail (same messages), and when a string
    holds a lone surrogate; ``ValueError`` from ``convert`` passes through.
    """
    try:
        return _decode(text, convert, known or {}, remember, None)
    except json.JSONDecodeError as e:
        raise InvalidJson(str(e)) from None
    except RecursionError:
        raise InvalidJson("nested too deeply") from None


class Body:
    """A decoded array body and what the next decode of a similar body reuses
    (:func:`decode_body`): its text, its converted elements in order, where each element ends
    in the text, and (:meth:`known_map`) the raw text of each object element -> its converted
    value.

    ``known`` is that map when the decode made it anyway (it looked the elements up in the
    last body's map), else None: a body decoded whole does not cut 300,000 element texts out
    and hash them (0.4 s, and their memory) on the chance that the next body is laid out
    differently; :meth:`known_map` makes it when such a body comes.

    ``added`` and ``removed``: when the body was decoded against an earlier one
    (:func:`decode_body`), the converted values of the elements it has and the earlier one
    had not, and of those it dropped, in order; None when it was decoded whole.
    """

    __slots__ = ("text", "values", "ends", "known", "added", "removed")

    def __init__(self, text: str, values: list[Any], ends: array,
                 known: dict[str, Any] | None = None, added: list[Any] | None = None,
                 removed: list[Any] | None = None) -> None:
        self.text = text
        self.values = values
        self.ends = ends
        self.known = known
        self.added = added
        self.removed = removed

    def reusable(self) -> bool:
        """Whether there is anything to reuse."""
        return len(self.values) > 0

    def known_map(self) -> dict[str, Any]:
        """The raw text (inside the braces) of each object element -> its value (made once)."""
        if self.known is None:
            self.known = _known_of(self.text, self.values, self.ends)
        return self.known


def _known_of(text: str, values: list[Any], ends: array) -> dict[str, Any]:
    """:meth:`Body.known_map` of a body: split at ``}, {`` when the body is laid out as
    ``json.dumps`` writes arrays of objects and the pieces are its elements (their ends say
    so), else element by element."""
    if not values:
        return {}
    start = _element_start(text, ends, 0)
    stop = len(text.rstrip(_WS))
    if text[start:start + 1] == "{" and text[stop - 2:stop] == "}]":
        pieces = _split(text, start + 1, stop - 2)
        if len(pieces) == len(values) and array("q", itertools.accumulate(
                map(len(_SEP).__add__, map(len, pieces)),
                initial=start - len(_SEP) + 2))[1:] == ends:
            known: dict[str, Any] = {}
            for a in range(0, len(pieces), _BATCH):
                known.update(zip(pieces[a:a + _BATCH], values[a:a + _BATCH], strict=True))
            return known
    return _known_range(text, values, ends, 0, len(values))


def _known_range(text: str, values: list[Any], ends: array, lo: int, hi: int
                 ) -> dict[str, Any]:
    """The raw text -> value of the object elements ``lo`` .. ``hi - 1`` of a body."""
    known = {}
    for k in range(lo, hi):
        start = _element_start(text, ends, k)
        if text[start:start + 1] == "{" and values[k] is not None:
            known[text[start + 1:ends[k] - 1]] = values[k]
    return known


#: a body shares at least this many leading characters with the last one for the elements
#: before them to be taken as they were
_MIN_PREFIX = 1 << 12


def decode_body(text: str, convert: Callable[[int, Any], Any],
                last: Body | None = None, *, pattern: re.Pattern[str] | None = None) -> Body:
    """The elements of the JSON array ``text`` (each through ``convert(index, value)``), as a
    :class:`Body` to give to the next call; ``last`` (the previous call's result, not to be
    used again: its ``known`` may be the new body's) makes a body that differs from it in a
    few places cheap:

    * the elements that lie wholly in the text both bodies start with are the last body's
      (the same text parses the same way), and once an element ends in the text both bodies
      end with, at the place where an element of the last body ended, the rest is the last
      body's too (from there on the two texts are the same, and the last one was valid);
    * the elements in between are looked up by their text in ``known``, as :func:`decode` does.

    So a push that changes one event of 300,000 compares the texts (memory speed) and decodes
    one event, where :func:`decode` with ``known`` splits and looks up every event's text.
    Errors: as :func:`decode`.

    ``pattern``: a regular expression that, where it matches at the start of an element,
    matches that whole element and whose groups are what ``convert`` makes of it (the caller
    vouches for that); a body decoded whole then takes each such element from one match
    instead of decoding it into objects and converting those (the usual layout of a big
    table's elements, at about twice the speed). Elements it does not match are decoded.
    """
    try:
        if last is not None and last.reusable():
            body = _decode_against(text, convert, last)
            if body is not None:
                return body
        ends: list[int] = []
        known = last.known_map() if last is not None else {}
        values, seen = _decode(text, convert, known, bool(known), ends, pattern)
        return Body(text, values, array("q", ends), seen if known else None)
    except json.JSONDecodeError as e:
        raise InvalidJson(str(e)) from None
    except RecursionError:
        raise InvalidJson("nested too deeply") from None


def _shared(a: str, b: str, limit: int, at_end: bool = False) -> int:
    """How many leading (``at_end``: trailing) characters, at most ``limit``, ``a`` and ``b``
    share: windows of growing size compared, then the first differing one halved."""
    na, nb = len(a), len(b)

    def same(lo: int, hi: int) -> bool:
        if at_end:
            return a[na - hi:na - lo] == b[nb - hi:nb - lo]
        return a[lo:hi] == b[lo:hi]

    lo, step = 0, 1 << 14
    while lo < limit:
        hi = min(limit, lo + step)
        if not same(lo, hi):
            while hi - lo > 1:         # the first lo characters are shared, lo..hi not all
                mid = (lo + hi) // 2
                if same(lo, mid):
                    lo = mid
                else:
                    hi = mid
            return lo
        lo, step = hi, min(step * 2, 1 << 20)
    return limit


def _element_start(text: str, ends: array, k: int) -> int:
    """Where element ``k`` of a valid array body starts."""
    if k == 0:
        return _skip_ws(text, _skip_ws(text, 0) + 1)
    return _skip_ws(text, _skip_ws(text, ends[k - 1]) + 1)     # past the ","


def _decode_against(text: str, convert: Callable[[int, Any], Any], last: Body) -> Body | None:
    """:func:`decode_body` against ``last``; None when the texts share too little."""
    old, ends, n_old = last.text, last.ends, len(last.values)
    prefix = _shared(old, text, min(len(old), len(text)))
    first = bisect.bisect_right(ends, prefix)       # elements 0 .. first-1 are the same
    if first == 0 or prefix < _MIN_PREFIX:
        return None
    suffix = _shared(old, text, min(len(old), len(text)) - prefix, at_end=True)
    shift = len(text) - len(old)
    same_from = len(text) - suffix          # text[same_from:] == old[same_from - shift:]
    known = last.known
    if known is None:
        # no map of the whole last body: the elements in between are looked up among the
        # last body's elements in between (elements moved from elsewhere are decoded)
        known = _known_range(old, last.values, ends, first, min(
            n_old, bisect.bisect_left(ends, len(old) - suffix) + 1))
    values = last.values[:first]
    new_ends = ends[:first]
    added: list[Any] = []
    seen: dict[str, Any] = {}
    idx = ends[first - 1]
    last_old = n_old - 1            # the last element of the old body that is not kept
    while (nxt := _next_element(text, idx)) >= 0:
        start = len(values)
        idx = _element(text, nxt, convert, known, True, values, seen)
        added.append(values[start])
        new_ends.append(idx)
        if idx >= same_from:
            j = bisect.bisect_left(ends, idx - shift)
            if j < n_old and ends[j] == idx - shift and j >= first - 1:
                # from here on the text is the old body's from the end of its element j
                values.extend(last.values[j + 1:])
                new_ends.extend(map(shift.__add__, ends[j + 1:]))
                last_old = j
                break
    removed = last.values[first:last_old + 1]
    if last.known is None:
        return Body(text, values, new_ends, None, added, removed)
    for k in range(first, last_old + 1):
        start = _element_start(old, ends, k)
        if old[start] == "{":
            known.pop(old[start + 1:ends[k] - 1], None)
    known.update(seen)
    return Body(text, values, new_ends, known, added, removed)


def _decode(text: str, convert: Callable[[int, Any], Any] | None,
            known: Mapping[str, Any], remember: bool, ends: list[int] | None,
            pattern: re.Pattern[str] | None = None) -> tuple[list[Any], dict[str, Any]]:
    out: list[Any] = []
    seen: dict[str, Any] = {}
    idx = _skip_ws(text, 0)
    if text[idx:idx + 1] != "[":
        raise json.JSONDecodeError("Expecting value", text, idx)
    idx = _skip_ws(text, idx + 1)
    if text[idx:idx + 1] == "]":
        _check_end(text, idx + 1)
        return out, seen
    if known:
        idx = _known_run(text, idx, convert, known, remember, out, seen, ends)
        if idx < 0:
            return out, seen
    _elements(text, idx, convert, known, remember, out, seen, ends, pattern)
    return out, seen


def _known_run(text: str, idx: int, convert: Callable[[int, Any], Any] | None,
               known: Mapping[str, Any], remember: bool, out: list[Any],
               seen: dict[str, Any], ends: list[int] | None) -> int:
    """The elements of a body laid out as ``json.dumps`` writes arrays of objects
    (``[{...}, {...}]``) found by splitting the text at ``}, {`` and looking the pieces up in
    ``known``; the pieces are trusted in order only: the first element starts at the first
    ``{``, and a piece known as a whole object starting where an element starts is that
    element, so the next one starts after its separator. An unknown piece is decoded from
    where it starts. Returns -1 when done, or the position of the element where the split no
    longer matches the text (the general loop goes on from there)."""
    stop = len(text.rstrip(_WS))
    if text[idx:idx + 1] != "{" or text[stop - 2:stop] != "}]":
        return idx
    pieces = _split(text, idx + 1, stop - 2)
    values: list[Any] = []
    for a in range(0, len(pieces), _BATCH):      # in batches: other threads run in between
        values.extend(map(known.get, pieces[a:a + _BATCH]))
    i, n = 0, len(pieces)
    pos = idx       # where element i starts (its "{")
    while True:
        try:
            j = values.index(None, i)
        except ValueError:
            j = n
        out.extend(values[i:j])
        if ends is not None:
            # element k of the run ends len(piece k) + 2 after it starts, and the next one
            # starts len(_SEP) - 2 after that
            ends.extend(map((pos - len(_SEP) + 2).__add__, itertools.accumulate(
                map(len(_SEP).__add__, map(len, pieces[i:j])))))
        if remember:
            for a in range(i, j, _BATCH):
                b = min(j, a + _BATCH)
                seen.update(zip(pieces[a:b], values[a:b], strict=True))
        if j == n:
            _check_end(text, stop)
            return -1
        pos += sum(map(len, pieces[i:j])) + len(_SEP) * (j - i)
        end = _element(text, pos, convert, known, remember, out, seen)
        if ends is not None:
            ends.append(end)
        if end != pos + len(pieces[j]) + 2:
            # the element is not its piece ("}, {" inside a string): the general loop
            # goes on after it
            nxt = _skip_ws(text, end)
            if text[nxt:nxt + 1] == "]":
                return nxt
            if text[nxt:nxt + 1] != ",":
                _delimiter_error(text, nxt)
            return _skip_ws(text, nxt + 1)
        if j + 1 == n:
            _check_end(text, stop)
            return -1
        i, pos = j + 1, end + len(_SEP) - 2     # past ", " to the next "{"


def _split(text: str, start: int, stop: int) -> list[str]:
    """``text[start:stop].split(_SEP)``, a window of at most :data:`_WINDOW` characters per
    split (the separator does not overlap itself, so cutting at any of its occurrences splits
    alike)."""
    pieces: list[str] = []
    while stop - start > _WINDOW:
        cut = text.rfind(_SEP, start, start + _WINDOW)
        if cut < 0:
            cut = text.find(_SEP, start + _WINDOW, stop)
            if cut < 0:
                break
        pieces.extend(text[start:cut].split(_SEP))
        start = cut + len(_SEP)
    pieces.extend(text[start:stop].split(_SEP))
    return pieces


def _decoded(text: str, idx: int) -> tuple[Any, int]:
    """The element at ``idx`` and where it ends, with the errors :func:`decode` raises."""
    try:
        decoded, end = _scan(text, idx)
    except StopIteration as e:
        raise json.JSONDecodeError("Expecting value", text, e.value) from None
    except ValueError as e:     # the decoder's errors, NaN and Infinity
        raise InvalidJson(str(e)) from None
    if text.find("\\u", idx, end) >= 0 and has_lone_surrogate(decoded):
        raise InvalidJson("a string contains a lone surrogate (\\ud800-\\udfff), "
                          "which is not a Unicode character")
    return decoded, end


def _one(text: str, idx: int, convert: Callable[[int, Any], Any] | None, remember: bool,
         out: list[Any], seen: dict[str, Any]) -> int:
    """Decode the element at ``idx``, append it (converted) to ``out``; returns its end."""
    decoded, end = _decoded(text, idx)
    value = decoded if convert is None else convert(len(out), decoded)
    out.append(value)
    if remember and type(decoded) is dict:
        seen[text[idx + 1:end - 1]] = value
    return end


def _elements(text: str, idx: int, convert: Callable[[int, Any], Any] | None,
              known: Mapping[str, Any], remember: bool, out: list[Any],
              seen: dict[str, Any], ends: list[int] | None,
              pattern: re.Pattern[str] | None = None) -> None:
    """The elements from ``idx`` (where one starts) to the end of the array, one by one."""
    if idx < len(text) and text[idx] == "]":        # the general loop after a known run
        _check_end(text, idx + 1)
        return
    if not known and not remember:
        _fresh_elements(text, idx, convert, out, ends, pattern)
        return
    while True:
        end = _element(text, idx, convert, known, remember, out, seen)
        if ends is not None:
            ends.append(end)
        idx = _next_element(text, end)
        if idx < 0:
            return


def _fresh_elements(text: str, idx: int, convert: Callable[[int, Any], Any] | None,
                    out: list[Any], ends: list[int] | None,
                    pattern: re.Pattern[str] | None = None) -> None:
    """:func:`_elements` with nothing to look up or remember: each element decoded (what a
    first push of a big table does 300,000 times, so the loop is kept tight: for an element
    followed by "," or ", ", no call but the pattern's match, or :func:`_decoded` and
    ``convert``)."""
    append = out.append
    add_end = ends.append if ends is not None else None
    match = pattern.match if pattern is not None else None
    while True:
        if match is not None and (m := match(text, idx)) is not None:
            append(m.groups())
            end = m.end()
        else:
            decoded, end = _decoded(text, idx)
            append(decoded if convert is None else convert(len(out), decoded))
        if add_end is not None:
            add_end(end)
        if text[end:end + 1] == ",":
            idx = end + 1
            if text[idx:idx + 1] == " ":
                idx += 1
            if text[idx:idx + 1] in _WS:
                idx = _skip_ws(text, idx)
            continue
        idx = _next_element(text, end)
        if idx < 0:
            return


def _next_element(text: str, end: int) -> int:
    """Where the element after the one ending at ``end`` starts (past the ","), or -1 when
    the array ends there (nothing but whitespace after its "]")."""
    idx = _skip_ws(text, end)
    c = text[idx:idx + 1]
    if c == "]":
        _check_end(text, idx + 1)
        return -1
    if c != ",":
        _delimiter_error(text, idx)
    return _skip_ws(text, idx + 1)


def _element(text: str, idx: int, convert: Callable[[int, Any], Any] | None,
             known: Mapping[str, Any], remember: bool, out: list[Any],
             seen: dict[str, Any]) -> int:
    """Append the element at ``idx`` (known, else decoded); returns its end."""
    if known and text[idx:idx + 1] == "{":
        # the ends this element may have, tried in order against the known texts
        pos = idx
        for _ in range(_CANDIDATES):
            m = _OBJECT_END.search(text, pos)
            if m is None:
                break
            raw = text[idx + 1:m.start()]
            value = known.get(raw)
            if value is not None:
                out.append(value)
                if remember:
                    seen[raw] = value
                return m.start() + 1
            pos = m.start() + 1
    return _one(text, idx, convert, remember, out, seen)


def _check_end(text: str, idx: int) -> None:
    idx = _skip_ws(text, idx)
    if idx != len(text):
        raise json.JSONDecodeError("Extra data", text, idx)


def _delimiter_error(text: str, idx: int) -> int:
    raise json.JSONDecodeError("Expecting ',' delimiter", text, idx)


def _skip_ws(text: str, idx: int) -> int:
    # the common cases without a regular expression: no whitespace, or one space
    c = text[idx:idx + 1]
    if c and c not in _WS:
        return idx
    if c == " " and text[idx + 1:idx + 2] not in _WS:
        return idx + 1
    while text[idx:idx + 1] in _WS and idx < len(text):
        idx += 1
    return idx
