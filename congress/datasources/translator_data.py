"""Reading the objects a translator is given: shape checks, field getters, ids of sub-objects.

Everything here runs while data is translated (the compiled closures of
:mod:`congress.datasources.translator_builders` call it); a shape that does not fit the
translator is a :class:`~congress.exceptions.TranslatorError` naming the table and what was found.
"""

from __future__ import annotations

import hashlib
import json
import reprlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from congress.datasources.translator_format import DICT_SELECTOR
from congress.datasources.values import normalize_value
from congress.exceptions import TranslatorError

short = reprlib.Repr()
short.maxstring = 80
short.maxother = 80


# --------------------------------------------------------------------------- ids
_TYPE_PREFIX: dict[type, str] = {}


def _sort_key(x: Any) -> str:
    t = type(x)
    prefix = _TYPE_PREFIX.get(t)
    if prefix is None:
        prefix = _TYPE_PREFIX[t] = str(t)
    return prefix + repr(x)


def compute_hash(values: Iterable[Any]) -> str:
    """The id of a sub-object, computed from its (normalised) values exactly as OpenStack Congress
    computed it, so that ids in existing policies and stored rows stay the same.

    The values are sorted by ``str(type(v)) + repr(v)`` (tables are sets, so the order of a list
    must not matter), dumped as JSON with sorted keys (ASCII, tuples as arrays) and hashed with
    md5; the hex digest is the id.
    """
    s = json.dumps(sorted(values, key=_sort_key), sort_keys=True)
    return hashlib.md5(s.encode("ascii"), usedforsecurity=False).hexdigest()


EMPTY_HASH = compute_hash([])


# --------------------------------------------------------------------------- shape checks
def type_name(o: Any) -> str:
    return type(o).__name__


def as_sequence(obj: Any, where: str) -> Any:
    """``obj`` as something to iterate over for a LIST / in-list HDICT, or TranslatorError."""
    t = type(obj)
    if t is list or t is tuple:
        return obj
    if isinstance(obj, (str, bytes, bytearray, Mapping)) or not isinstance(obj, Iterable):
        raise TranslatorError(f"{where}: expected a list, found {type_name(obj)}",
                              data={"where": where, "found": type_name(obj)})
    return list(obj)


def as_items(obj: Any, where: str) -> Any:
    """``obj``'s key/value pairs for a VDICT, or TranslatorError."""
    if type(obj) is dict or isinstance(obj, Mapping):
        return obj.items()
    items = getattr(obj, "items", None)
    if callable(items) and not isinstance(obj, (str, bytes, list, tuple)):
        return items()
    raise TranslatorError(f"{where}: expected a dict, found {type_name(obj)}",
                          data={"where": where, "found": type_name(obj)})


# Types that cannot be the object of a DOT_SELECTOR: they have no data attributes, so reading
# fields from them would silently give a row of "None"s.
NOT_OBJECTS = frozenset({dict, list, tuple, set, frozenset, str, bytes, bytearray,
                          int, float, bool, complex})
_NOT_MAPPINGS = (str, bytes, bytearray, list, tuple, set, frozenset)


def make_getter(selector: str, where: str) -> Callable[[Any], Callable[[str], Any]]:
    """``getter(obj)``: a function reading one field of ``obj`` (missing field -> None).

    Raises TranslatorError when ``obj`` cannot hold fields for ``selector``. The compiled HDICT
    only calls it off its fast paths (plain dicts for DICT_SELECTOR, attribute reads for
    DOT_SELECTOR).
    """
    if selector == DICT_SELECTOR:
        def getter(o: Any) -> Callable[[str], Any]:
            if isinstance(o, Mapping):
                return o.get
            if (hasattr(o, "__getitem__") and hasattr(o, "__contains__")
                    and not isinstance(o, _NOT_MAPPINGS)):
                # duck-typed mapping without .get()
                return lambda n: o[n] if n in o else None  # noqa: SIM401
            raise TranslatorError(
                f"{where}: expected a dict (DICT_SELECTOR), found {type_name(o)}",
                data={"where": where, "found": type_name(o)})
    else:
        def getter(o: Any) -> Callable[[str], Any]:
            if type(o) in NOT_OBJECTS:
                raise TranslatorError(
                    f"{where}: expected an object with attributes (DOT_SELECTOR), "
                    f"found {type_name(o)}", data={"where": where, "found": type_name(o)})
            return lambda n: getattr(o, n, None)
    return getter


def wrap_user_fn(fn: Callable[[Any], Any], what: str, where: str) -> Callable[[Any], Any]:
    """``fn`` whose failures become TranslatorError naming the table, the field and the value."""
    def call(v: Any) -> Any:
        try:
            return fn(v)
        except TranslatorError:
            raise
        except Exception as e:
            raise TranslatorError(f"{where}: {what} failed on {short.repr(v)}: {e!r}",
                                  data={"where": where}) from e
    return call


def make_id_fn(id_col: Any, where: str) -> Callable[[Any, Any], Any]:
    """``idfn(obj, values)``: the id of a sub-object (callable id-col, else hash of values)."""
    if not callable(id_col):
        return lambda _obj, values: compute_hash(values)

    def idfn(obj: Any, _values: Any) -> Any:
        try:
            v = id_col(obj)
        except TranslatorError:
            raise
        except Exception as e:
            raise TranslatorError(f"{where}: error during id computation: {e!r}",
                                  data={"where": where}) from e
        if not isinstance(v, (str, int, float)):
            raise TranslatorError(
                f"{where}: id-col function returned a {type_name(v)}; "
                f"an id must be a string or a number", data={"where": where})
        return normalize_value(v)
    return idfn
