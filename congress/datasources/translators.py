"""Declarative translation of datasource JSON (dicts, lists, client objects) into Datalog tables.

A driver describes the shape of what its client returns with *translators*: plain dicts with the
keys of the original Congress (spec/runtime.md §9). Four translation types exist:

``HDICT``
    One row per object; one column per field translator, in declared order. Fields are read with
    ``obj[field]`` (``DICT_SELECTOR``) or ``obj.field`` (``DOT_SELECTOR``); a missing field reads as
    ``None``. ``in-list: True`` means the value is a list of such objects, one row each.
``VDICT``
    One row per key/value pair of a dict: ``key-col`` then ``val-col``.
``LIST``
    One row per element of a list: ``val-col``.
``VALUE``
    A scalar, optionally computed with ``extract-fn`` and typed with ``data-type``/``nullable``.

A non-VALUE translator nested in another one fills a *sub-table*. Its rows are tied to the
parent's row in one of two ways:

* ``parent-key: <col>``: each sub-table row starts with the value of the parent's column ``<col>``
  (its name is ``parent-col-name``, default ``parent_key``), and the parent has no column for the
  field;
* ``id-col``: each sub-table row starts with an id computed from the sub-object (a callable
  ``id-col(obj)``, or else the md5 hex digest of a canonical JSON of the sub-table's values), and
  the parent's column for the field holds that id.

Columns come in this order: the id or parent column first (when there is one), then HDICT fields
in declared order without the ``parent-key`` sub-translators; VDICT ``key-col`` then ``val-col``
(without ``val-col`` if the sub-translator has a ``parent-key``); LIST ``val-col``.

Every translator is validated and *compiled* once, when :class:`Translator` is built: each node of
the tree becomes a closure that holds everything it needs (field names, extract functions, column
positions of parent keys, table index), so translating an object reads no translator key at all.
Rows only hold values normalised by :func:`~congress.datasources.values.normalize_value`.

Differences from the original, all deliberate:

* errors are :class:`~congress.exceptions.TranslatorError` and name the table and the key (the
  original raised InvalidParamException, DuplicateTableName, InvalidTranslationType, and
  ``KeyError``/``AssertionError`` for some bad translators only when data arrived);
* translators that the original accepted but could not translate correctly are rejected up front:
  a root with ``parent-key``, a nested non-VALUE translator with neither ``parent-key`` nor
  ``id-col`` (the original produced rows shorter than the schema), a ``parent-key`` naming no
  column of the parent, the sub-translator of a LIST without ``id-col``, duplicate column names;
* data of the wrong shape (a list where a dict is expected, a dict given to a LIST, a plain dict
  given to a ``DOT_SELECTOR``) raises TranslatorError naming the table, the field and the type
  found, where the original silently produced ``None`` columns or iterated over dict keys;
* a ``None`` object in the top-level list or in an ``in-list`` list is skipped (the original
  crashed on it);
* strings keep non-ASCII characters (see ``normalize_value``); an id computed over such strings
  therefore differs from the original's, which dropped those characters before hashing;
* a callable ``id-col`` of a LIST whose elements are not VALUEs receives the list itself (the
  original passed the list's last element);
* VDICT keys are normalised in every row (the original left them raw when the values were not
  VALUEs); a LIST's ``val-col-desc`` is reported with an ``id-col`` too (the original dropped it
  there); every schema column is a dict (the original gave VDICT columns as bare names).
"""

from __future__ import annotations

import hashlib
import json
import logging
import reprlib
from collections.abc import Callable, Iterable, Mapping
from itertools import repeat
from operator import itemgetter
from typing import Any

from congress.datasources.values import (
    data_type_name,
    normalize_value,
    resolve_data_type,
)
from congress.exceptions import TranslatorError

__all__ = [
    "HDICT", "VDICT", "LIST", "VALUE", "DICT_SELECTOR", "DOT_SELECTOR",
    "Translator", "TranslatorSet", "normalize_value", "compute_hash",
]

LOG = logging.getLogger(__name__)

HDICT, VDICT, LIST, VALUE = "HDICT", "VDICT", "LIST", "VALUE"
DICT_SELECTOR, DOT_SELECTOR = "DICT_SELECTOR", "DOT_SELECTOR"

TRANSLATION_TYPE = "translation-type"
TABLE_NAME = "table-name"
PARENT_KEY = "parent-key"
ID_COL = "id-col"
SELECTOR_TYPE = "selector-type"
FIELD_TRANSLATORS = "field-translators"
FIELDNAME = "fieldname"
COL = "col"
DESCRIPTION = "desc"
TRANSLATOR = "translator"
IN_LIST = "in-list"
PARENT_COL_NAME = "parent-col-name"
OBJECTS_EXTRACT_FN = "objects-extract-fn"
PARENT_KEY_DESC = "parent-key-desc"
KEY_COL = "key-col"
VAL_COL = "val-col"
VAL_COL_DESC = "val-col-desc"
EXTRACT_FN = "extract-fn"
DATA_TYPE = "data-type"
NULLABLE = "nullable"

PARENT_KEY_COL_NAME = "parent_key"   # default name of the parent column
ID_COL_NAME = "id-col"               # name of the id column when id-col is a callable

HDICT_PARAMS = (TRANSLATION_TYPE, TABLE_NAME, PARENT_KEY, ID_COL, SELECTOR_TYPE,
                FIELD_TRANSLATORS, IN_LIST, PARENT_COL_NAME, OBJECTS_EXTRACT_FN, PARENT_KEY_DESC)
VDICT_PARAMS = (TRANSLATION_TYPE, TABLE_NAME, PARENT_KEY, ID_COL, KEY_COL, VAL_COL, TRANSLATOR,
                PARENT_COL_NAME, OBJECTS_EXTRACT_FN)
LIST_PARAMS = (TRANSLATION_TYPE, TABLE_NAME, PARENT_KEY, ID_COL, VAL_COL, TRANSLATOR,
               PARENT_COL_NAME, OBJECTS_EXTRACT_FN, PARENT_KEY_DESC, VAL_COL_DESC)
VALUE_PARAMS = (TRANSLATION_TYPE, EXTRACT_FN, DATA_TYPE, NULLABLE)
FIELD_TRANSLATOR_PARAMS = (FIELDNAME, COL, DESCRIPTION, TRANSLATOR)
VALID_TRANSLATION_TYPES = (HDICT, VDICT, LIST, VALUE)
_PARAMS = {HDICT: HDICT_PARAMS, VDICT: VDICT_PARAMS, LIST: LIST_PARAMS, VALUE: VALUE_PARAMS}
_SELECTORS = (DICT_SELECTOR, DOT_SELECTOR)

_short = reprlib.Repr()
_short.maxstring = 80
_short.maxother = 80


# --------------------------------------------------------------------------- ids
_TYPE_PREFIX: dict[type, str] = {}


def _sort_key(x: Any) -> str:
    t = type(x)
    prefix = _TYPE_PREFIX.get(t)
    if prefix is None:
        prefix = _TYPE_PREFIX[t] = str(t)
    return prefix + repr(x)


def compute_hash(values: Iterable[Any]) -> str:
    """The id the original computed for a sub-object from its (normalised) values.

    The values are sorted by ``str(type(v)) + repr(v)`` (tables are sets, so the order of a list
    must not matter), dumped as JSON with sorted keys (ASCII, tuples as arrays) and hashed with
    md5; the hex digest is the id.
    """
    s = json.dumps(sorted(values, key=_sort_key), sort_keys=True)
    return hashlib.md5(s.encode("ascii"), usedforsecurity=False).hexdigest()


_EMPTY_HASH = compute_hash([])


# --------------------------------------------------------------------------- shape checks
def _type_name(o: Any) -> str:
    return type(o).__name__


def _as_sequence(obj: Any, where: str) -> Any:
    """``obj`` as something to iterate over for a LIST / in-list HDICT, or TranslatorError."""
    t = type(obj)
    if t is list or t is tuple:
        return obj
    if isinstance(obj, (str, bytes, bytearray, Mapping)) or not isinstance(obj, Iterable):
        raise TranslatorError(f"{where}: expected a list, found {_type_name(obj)}",
                              data={"where": where, "found": _type_name(obj)})
    return list(obj)


def _as_items(obj: Any, where: str) -> Any:
    """``obj``'s key/value pairs for a VDICT, or TranslatorError."""
    if type(obj) is dict or isinstance(obj, Mapping):
        return obj.items()
    items = getattr(obj, "items", None)
    if callable(items) and not isinstance(obj, (str, bytes, list, tuple)):
        return items()
    raise TranslatorError(f"{where}: expected a dict, found {_type_name(obj)}",
                          data={"where": where, "found": _type_name(obj)})


# Types that cannot be the object of a DOT_SELECTOR: they have no data attributes, so reading
# fields from them would silently give a row of "None"s.
_NOT_OBJECTS = frozenset({dict, list, tuple, set, frozenset, str, bytes, bytearray,
                          int, float, bool, complex})
_NOT_MAPPINGS = (str, bytes, bytearray, list, tuple, set, frozenset)


def _make_getter(selector: str, where: str) -> Callable[[Any], Callable[[str], Any]]:
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
                f"{where}: expected a dict (DICT_SELECTOR), found {_type_name(o)}",
                data={"where": where, "found": _type_name(o)})
    else:
        def getter(o: Any) -> Callable[[str], Any]:
            if type(o) in _NOT_OBJECTS:
                raise TranslatorError(
                    f"{where}: expected an object with attributes (DOT_SELECTOR), "
                    f"found {_type_name(o)}", data={"where": where, "found": _type_name(o)})
            return lambda n: getattr(o, n, None)
    return getter


def _wrap_user_fn(fn: Callable[[Any], Any], what: str, where: str) -> Callable[[Any], Any]:
    """``fn`` whose failures become TranslatorError naming the table, the field and the value."""
    def call(v: Any) -> Any:
        try:
            return fn(v)
        except TranslatorError:
            raise
        except Exception as e:
            raise TranslatorError(f"{where}: {what} failed on {_short.repr(v)}: {e!r}",
                                  data={"where": where}) from e
    return call


def _make_id_fn(id_col: Any, where: str) -> Callable[[Any, Any], Any]:
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
                f"{where}: id-col function returned a {_type_name(v)}; "
                f"an id must be a string or a number", data={"where": where})
        return normalize_value(v)
    return idfn


# --------------------------------------------------------------------------- compiled nodes
class _Child:
    """A compiled non-VALUE translator, as seen by its parent."""

    __slots__ = ("table", "has_id", "has_parent_key", "call", "conv")

    def __init__(self, table: str, has_id: bool, has_parent_key: bool,
                 call: Callable[[Any, Any, list], Any],
                 conv: Callable[[Any, Any, list], Any]) -> None:
        self.table = table
        self.has_id = has_id
        self.has_parent_key = has_parent_key
        # call(value, parent_ctx, sinks) -> id (None when the translator has no id-col): what a
        # parent calls with a field value (None and objects-extract-fn handled).
        self.call = call
        # conv(obj, parent_ctx, sinks) -> id: translates one non-None object.
        self.conv = conv


class _ValueSpec:
    """A compiled VALUE translator: ``ext(raw) -> normalised value`` and its schema info."""

    __slots__ = ("ext", "type_name", "nullable")

    def __init__(self, ext: Callable[[Any], Any], type_name: str | None, nullable: bool) -> None:
        self.ext = ext
        self.type_name = type_name
        self.nullable = nullable


def _column(name: str, desc: Any = None, value: _ValueSpec | None = None) -> dict:
    col: dict[str, Any] = {"name": name, "desc": desc}
    if value is not None:
        if value.type_name is not None:
            col["type"] = value.type_name
        if not value.nullable:
            col["nullable"] = False
    return col


def _ignore(_raw: Any) -> None:
    return None


class _Compiler:
    """Validates one top-level translator and compiles it into closures, in one walk."""

    def __init__(self, spec: Any, taken: set[str] | None = None) -> None:
        self.tables: list[str] = []
        self.schema: dict[str, list[dict]] = {}
        self.taken = taken if taken is not None else set()
        self.root = self._node(spec, parent=None, context="top-level translator")

    # ----------------------------------------------------------------- validation helpers
    @staticmethod
    def _fail(where: str, key: str | None, message: str) -> TranslatorError:
        return TranslatorError(f"{where}: {message}", data={"where": where, "key": key})

    def _check_common(self, spec: Any, where: str) -> str:
        if not isinstance(spec, Mapping):
            raise self._fail(where, None, f"a translator must be a dict, found {_type_name(spec)}")
        if TRANSLATION_TYPE not in spec:
            raise self._fail(where, TRANSLATION_TYPE,
                             f"Param ({TRANSLATION_TYPE}) must be in translator")
        ttype = spec[TRANSLATION_TYPE]
        if not isinstance(ttype, str) or ttype not in VALID_TRANSLATION_TYPES:
            raise self._fail(
                where, TRANSLATION_TYPE,
                f"Translation Type {ttype!r} not a valid translation-type "
                f"({', '.join(VALID_TRANSLATION_TYPES)})")
        valid = _PARAMS[ttype]
        unknown = sorted(str(k) for k in spec if k not in valid)
        if unknown:
            raise self._fail(where, unknown[0],
                             f"Params ({', '.join(unknown)}) are invalid for {ttype}. "
                             f"Valid params: {', '.join(valid)}")
        return ttype

    def _str_key(self, spec: Mapping, key: str, where: str, *, required: bool = False,
                 default: Any = None) -> Any:
        if key not in spec:
            if required:
                raise self._fail(where, key, f"Param ({key}) must be in translator")
            return default
        v = spec[key]
        if not isinstance(v, str) or not v:
            raise self._fail(where, key, f"Param ({key}) must be a non-empty string, "
                                         f"found {_short.repr(v)}")
        return v

    def _fn_key(self, spec: Mapping, key: str, where: str) -> Any:
        v = spec.get(key)
        if v is not None and not callable(v):
            raise self._fail(where, key, f"Param ({key}) must be a function, "
                                         f"found {_type_name(v)}")
        return v

    # ----------------------------------------------------------------- dispatch
    def _node(self, spec: Any, parent: dict | None, context: str) -> _Child | _ValueSpec:
        """Compile ``spec``.

        ``parent`` is None for the top-level translator, else a dict describing where it sits:
        ``table`` (parent table), ``kind`` (parent type) and ``names`` (the parent's columns a
        ``parent-key`` may name -> their position in the context tuple handed to the child).
        ``context`` says where the translator sits, for messages.
        """
        name = spec.get(TABLE_NAME) if isinstance(spec, Mapping) else None
        if isinstance(name, str) and name:
            where = f"translator '{name}'" + (f" ({context})" if parent is not None else "")
        else:
            where = f"translator ({context})"
        ttype = self._check_common(spec, where)
        if ttype == VALUE:
            if parent is None:
                raise self._fail(where, TRANSLATION_TYPE,
                                 "a top-level translator must be HDICT, VDICT or LIST")
            return self._value(spec, where)

        table = self._str_key(spec, TABLE_NAME, where, required=True)
        if table in self.taken:
            raise self._fail(where, TABLE_NAME, f"table ({table}) used twice")
        self.taken.add(table)
        self.tables.append(table)
        index = len(self.tables) - 1
        self.schema[table] = []          # reserve the slot: parents come before children

        parent_key = self._str_key(spec, PARENT_KEY, where)
        id_col = spec.get(ID_COL)
        if id_col is not None and not (callable(id_col) or (isinstance(id_col, str) and id_col)):
            raise self._fail(where, ID_COL, "Param (id-col) must be a non-empty string or a "
                                            f"function, found {_type_name(id_col)}")
        if parent_key is not None and id_col is not None:
            raise self._fail(where, PARENT_KEY, f"Specify at most one of {PARENT_KEY} or "
                                                f"{ID_COL}")
        parent_col = self._str_key(spec, PARENT_COL_NAME, where, default=PARENT_KEY_COL_NAME)
        oef = self._fn_key(spec, OBJECTS_EXTRACT_FN, where)

        pk_index = None
        if parent is None:
            if parent_key is not None:
                raise self._fail(where, PARENT_KEY,
                                 "a top-level translator has no parent: remove parent-key")
        else:
            if parent_key is None and id_col is None:
                raise self._fail(
                    where, ID_COL,
                    f"a translator nested in table '{parent['table']}' needs {PARENT_KEY} or "
                    f"{ID_COL}: the parent row has to refer to the sub-table's rows")
            if parent["kind"] == LIST and id_col is None:
                raise self._fail(where, PARENT_KEY,
                                 f"the sub-translator of LIST '{parent['table']}' must use "
                                 f"{ID_COL}, not {PARENT_KEY}")
            if parent_key is not None:
                names = parent["names"]
                if parent_key not in names:
                    avail = ", ".join(names) or "none"
                    raise self._fail(
                        where, PARENT_KEY,
                        f"parent-key '{parent_key}' is not a column of the parent table "
                        f"'{parent['table']}' available to sub-tables (available: {avail})")
                pk_index = names[parent_key]

        head: list[dict] = []
        if id_col is not None:
            head.append(_column(id_col if isinstance(id_col, str) else ID_COL_NAME))
        elif parent_key is not None:
            head.append(_column(parent_col, spec.get(PARENT_KEY_DESC)))

        info = {
            "spec": spec, "table": table, "index": index, "where": where, "id_col": id_col,
            "parent_key": parent_key, "parent_col": parent_col, "pk_index": pk_index,
            "head": head,
        }
        if ttype == HDICT:
            conv = self._hdict(info)
        elif ttype == VDICT:
            conv = self._vdict(info)
        else:
            conv = self._list(info)

        names = [c["name"] for c in self.schema[table]]
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            raise self._fail(where, dups[0], f"duplicate column name(s) {', '.join(dups)}")

        has_id = id_col is not None
        empty_id = _EMPTY_HASH if has_id else None
        if oef is not None and parent is not None:
            extract = _wrap_user_fn(oef, OBJECTS_EXTRACT_FN, where)

            def call(v: Any, ctx: Any, sinks: list) -> Any:
                if v is None:
                    return empty_id
                v = extract(v)
                if v is None:
                    return empty_id
                return conv(v, ctx, sinks)
        else:
            def call(v: Any, ctx: Any, sinks: list) -> Any:
                if v is None:
                    return empty_id
                return conv(v, ctx, sinks)
        return _Child(table, has_id, parent_key is not None, call, conv)

    # ----------------------------------------------------------------- VALUE
    def _value(self, spec: Mapping, where: str) -> _ValueSpec:
        fn = self._fn_key(spec, EXTRACT_FN, where)
        dt = None
        if spec.get(DATA_TYPE) is not None:
            dt = resolve_data_type(spec[DATA_TYPE])
            if dt is None:
                raise self._fail(where, DATA_TYPE,
                                 f"Param ({DATA_TYPE}) must name a known data type or have a "
                                 f"marshal method, found {_short.repr(spec[DATA_TYPE])}")
        nullable = spec.get(NULLABLE, True)
        if not isinstance(nullable, bool):
            raise self._fail(where, NULLABLE, f"Param ({NULLABLE}) must be true or false, "
                                              f"found {_short.repr(nullable)}")
        type_name = data_type_name(dt) if dt is not None else None
        if fn is None and dt is None and nullable:
            return _ValueSpec(normalize_value, None, True)

        extract = _wrap_user_fn(fn, EXTRACT_FN, where) if fn is not None else None
        warned = [False]

        def complain(msg: str, *args: Any) -> None:
            if not warned[0]:
                warned[0] = True
                LOG.warning("%s: " + msg + " (value kept; further cases logged at DEBUG)",
                            where, *args)
            else:
                LOG.debug("%s: " + msg, where, *args)

        def ext(raw: Any) -> Any:
            v = extract(raw) if extract is not None else raw
            if dt is not None:
                try:
                    v = dt.marshal(v)
                except Exception as e:
                    complain("value %s does not fit data-type %s: %s", _short.repr(v),
                             type_name, e)
            if v is None and not nullable:
                complain("None in a column declared not nullable")
            return normalize_value(v)

        return _ValueSpec(ext, type_name, nullable)

    def _sub(self, spec: Any, parent: dict, context: str, where: str,
             key: str) -> _Child | _ValueSpec:
        if spec is None:
            raise self._fail(where, key, f"Param ({key}) must be in translator")
        return self._node(spec, parent, context)

    # ----------------------------------------------------------------- HDICT
    def _hdict(self, info: dict) -> Callable[[Any, Any, list], Any]:
        spec, table, where = info["spec"], info["table"], info["where"]
        selector = spec.get(SELECTOR_TYPE)
        if selector is None:
            raise self._fail(where, SELECTOR_TYPE, f"Param ({SELECTOR_TYPE}) must be in "
                                                   "translator")
        if selector not in _SELECTORS:
            raise self._fail(where, SELECTOR_TYPE, f"{SELECTOR_TYPE} must be DICT_SELECTOR or "
                                                   f"DOT_SELECTOR, found {_short.repr(selector)}")
        in_list = spec.get(IN_LIST, False)
        if not isinstance(in_list, bool):
            raise self._fail(where, IN_LIST, f"Param ({IN_LIST}) must be true or false, "
                                             f"found {_short.repr(in_list)}")
        if FIELD_TRANSLATORS not in spec:
            raise self._fail(where, FIELD_TRANSLATORS, f"Param ({FIELD_TRANSLATORS}) must be in "
                                                       "translator")
        fields = spec[FIELD_TRANSLATORS]
        if isinstance(fields, Mapping) or not isinstance(fields, (list, tuple)):
            raise self._fail(where, FIELD_TRANSLATORS, f"{FIELD_TRANSLATORS} must be a list of "
                                                       f"dicts, found {_type_name(fields)}")

        # First pass: validate the field dicts, find the columns the parent row will have.
        parsed = []
        for i, ft in enumerate(fields):
            fwhere = f"{where}, field translator #{i}"
            if not isinstance(ft, Mapping):
                raise self._fail(fwhere, None, f"a field translator must be a dict, found "
                                               f"{_type_name(ft)}")
            unknown = sorted(str(k) for k in ft if k not in FIELD_TRANSLATOR_PARAMS)
            if unknown:
                raise self._fail(fwhere, unknown[0],
                                 f"Params ({', '.join(unknown)}) are invalid. Valid params: "
                                 f"{', '.join(FIELD_TRANSLATOR_PARAMS)}")
            name = self._str_key(ft, FIELDNAME, fwhere, required=True)
            fwhere = f"{where}, field '{name}'"
            col = self._str_key(ft, COL, fwhere, default=name)
            desc = ft.get(DESCRIPTION)
            if desc is not None and not isinstance(desc, str):
                raise self._fail(fwhere, DESCRIPTION, f"Param ({DESCRIPTION}) must be a string")
            if TRANSLATOR not in ft:
                raise self._fail(fwhere, TRANSLATOR, f"Param ({TRANSLATOR}) must be in field "
                                                     "translator")
            sub = ft[TRANSLATOR]
            is_pk_child = isinstance(sub, Mapping) and PARENT_KEY in sub
            parsed.append((name, col, desc, sub, is_pk_child))

        head = info["head"]
        has_pk = info["parent_key"] is not None
        has_id = info["id_col"] is not None
        offset = 1 if (has_pk or has_id) else 0
        names: dict[str, int] = {}
        if has_pk:
            names[info["parent_col"]] = 0
        non_pk = [p for p in parsed if not p[4]]
        pk = [p for p in parsed if p[4]]
        for i, p in enumerate(non_pk):
            names.setdefault(p[1], i + offset)
        columns = list(head)
        self.schema[table] = columns
        for _name, col, desc, _sub, _ in non_pk:
            columns.append(_column(col, desc))

        # Second pass: compile the sub-translators, in declared order so that tables() follows
        # the translator. A parent-key child may name any column computed above, whichever
        # field comes first.
        parent = {"table": table, "kind": HDICT, "names": names}
        exts: list[Callable[[Any], Any]] = []
        id_children: list[tuple[int, Callable]] = []
        pk_children: list[Callable] = []
        i = 0
        for name, col, desc, sub, is_pk_child in parsed:
            compiled = self._node(sub, parent, f"field '{name}' of table '{table}'")
            if is_pk_child:
                assert isinstance(compiled, _Child)
                pk_children.append(compiled.call)
                continue
            if isinstance(compiled, _ValueSpec):
                exts.append(compiled.ext)
                columns[i + len(head)] = _column(col, desc, compiled)
            else:
                exts.append(_ignore)
                id_children.append((i, compiled.call))
            i += 1

        # Internal order of the values of a row: plain VALUE fields (no extract-fn, no type:
        # normalised in one C-level map), then the other VALUE fields, then the id-col
        # sub-translators; ``perm`` puts them back in column order.
        plain = [i for i, e in enumerate(exts) if e is normalize_value]
        custom = [i for i, e in enumerate(exts) if e is not normalize_value and e is not _ignore]
        by_id = [i for i, _ in id_children]
        order = plain + custom + by_id
        rest_fields = custom + by_id
        plain_names = tuple(non_pk[i][0] for i in plain)
        rest_names = tuple([non_pk[i][0] for i in rest_fields] + [p[0] for p in pk])
        customs_t = tuple((k, exts[i]) for k, i in enumerate(custom))
        id_children_t = tuple((len(custom) + k, call) for k, (_i, call) in enumerate(id_children))
        pk_children_t = tuple((len(rest_fields) + k, call) for k, call in enumerate(pk_children))
        perm: Callable[[list], Any] | None = None
        if order != sorted(order):          # (so at least two columns: itemgetter -> tuple)
            position = {f: k for k, f in enumerate(order)}
            perm = itemgetter(*(position[c] for c in range(len(order))))
        plain_nones = (None,) * len(plain_names)
        rest_nones = (None,) * len(rest_names)
        dot = selector == DOT_SELECTOR
        getter = _make_getter(selector, where)
        index = info["index"]
        pk_index = info["pk_index"]
        idfn = _make_id_fn(info["id_col"], where) if has_id else None
        norm = normalize_value

        def row_conv(o: Any, ctx: Any, sinks: list) -> Any:
            if dot:
                if type(o) in _NOT_OBJECTS:
                    getter(o)                       # raises the shape error
                vals = list(map(norm, map(getattr, repeat(o), plain_names, plain_nones)))
                rest = (list(map(getattr, repeat(o), rest_names, rest_nones))
                        if rest_names else None)
            else:
                get = o.get if type(o) is dict else getter(o)
                vals = list(map(norm, map(get, plain_names)))
                rest = list(map(get, rest_names)) if rest_names else None
            if rest is not None:
                for k, e in customs_t:
                    vals.append(e(rest[k]))
                for k, call in id_children_t:
                    vals.append(norm(call(rest[k], None, sinks)))
            if perm is not None:
                vals = perm(vals)
            h = None
            if has_pk:
                row = (ctx[pk_index], *vals)
            elif idfn is not None:
                h = idfn(o, vals)
                row = (h, *vals)
            else:
                row = tuple(vals)
            for k, call in pk_children_t:
                call(rest[k], row, sinks)
            sinks[index].add(row)
            return h

        if not in_list:
            return row_conv

        lwhere = where + " (in-list)"

        def list_conv(obj: Any, ctx: Any, sinks: list) -> Any:
            h = None
            for o in _as_sequence(obj, lwhere):
                if o is not None:
                    h = row_conv(o, ctx, sinks)
            return h if h is not None or not has_id else "None"

        return list_conv

    # ----------------------------------------------------------------- VDICT
    def _vdict(self, info: dict) -> Callable[[Any, Any, list], Any]:
        spec, table, where = info["spec"], info["table"], info["where"]
        key_col = self._str_key(spec, KEY_COL, where, required=True)
        val_col = self._str_key(spec, VAL_COL, where, required=True)
        columns = list(info["head"]) + [_column(key_col)]
        self.schema[table] = columns
        sub = self._sub(spec.get(TRANSLATOR), {"table": table, "kind": VDICT,
                                               "names": {key_col: 0}},
                        f"values of table '{table}'", where, TRANSLATOR)
        if isinstance(sub, _ValueSpec):
            columns.append(_column(val_col, None, sub))
        elif not sub.has_parent_key:
            columns.append(_column(val_col))

        index = info["index"]
        has_pk = info["parent_key"] is not None
        pk_index = info["pk_index"]
        idfn = _make_id_fn(info["id_col"], where) if info["id_col"] is not None else None
        norm = normalize_value

        if isinstance(sub, _ValueSpec):
            ext = sub.ext

            def conv(obj: Any, ctx: Any, sinks: list) -> Any:
                pairs = [(norm(k), ext(v)) for k, v in _as_items(obj, where)]
                h = None
                if has_pk:
                    pv = ctx[pk_index]
                    sinks[index].update([(pv, k, v) for k, v in pairs])
                elif idfn is not None:
                    h = idfn(obj, pairs)
                    sinks[index].update([(h, k, v) for k, v in pairs])
                else:
                    sinks[index].update(pairs)
                return h
            return conv

        call = sub.call
        sub_has_id = sub.has_id

        def conv(obj: Any, ctx: Any, sinks: list) -> Any:
            rows = []
            for k, v in _as_items(obj, where):
                nk = norm(k)
                sub_id = call(v, (nk,), sinks)
                rows.append((nk, norm(sub_id)) if sub_has_id else (nk,))
            h = None
            if has_pk:
                pv = ctx[pk_index]
                sinks[index].update([(pv, *r) for r in rows])
            elif idfn is not None:
                h = idfn(obj, rows)
                sinks[index].update([(h, *r) for r in rows])
            else:
                sinks[index].update(rows)
            return h
        return conv

    # ----------------------------------------------------------------- LIST
    def _list(self, info: dict) -> Callable[[Any, Any, list], Any]:
        spec, table, where = info["spec"], info["table"], info["where"]
        val_col = self._str_key(spec, VAL_COL, where, required=True)
        val_desc = spec.get(VAL_COL_DESC)
        columns = list(info["head"])
        self.schema[table] = columns
        sub = self._sub(spec.get(TRANSLATOR), {"table": table, "kind": LIST, "names": {}},
                        f"elements of table '{table}'", where, TRANSLATOR)
        columns.append(_column(val_col, val_desc,
                               sub if isinstance(sub, _ValueSpec) else None))

        index = info["index"]
        has_pk = info["parent_key"] is not None
        pk_index = info["pk_index"]
        idfn = _make_id_fn(info["id_col"], where) if info["id_col"] is not None else None
        norm = normalize_value

        if isinstance(sub, _ValueSpec):
            ext = sub.ext

            def elements(obj: Any, sinks: list) -> list:
                return [ext(o) for o in _as_sequence(obj, where)]
        else:
            call = sub.call

            def elements(obj: Any, sinks: list) -> list:
                return [norm(call(o, None, sinks)) for o in _as_sequence(obj, where)]

        def conv(obj: Any, ctx: Any, sinks: list) -> Any:
            vals = elements(obj, sinks)
            h = None
            if has_pk:
                pv = ctx[pk_index]
                sinks[index].update([(pv, v) for v in vals])
            elif idfn is not None:
                h = idfn(obj, vals)
                sinks[index].update([(h, v) for v in vals])
            else:
                sinks[index].update([(v,) for v in vals])
            return h
        return conv


# --------------------------------------------------------------------------- public API
class Translator:
    """One top-level translator of a driver, validated and compiled once.

    ``translate(objs)`` takes what the client's list call returned (a list of objects; the
    root's ``objects-extract-fn``, if any, is applied to it first) and returns the rows of every
    table of this translator, including empty ones.
    """

    def __init__(self, spec: dict, *, _taken: set[str] | None = None) -> None:
        compiled = _Compiler(spec, _taken)
        self.spec = spec
        self._tables = tuple(compiled.tables)
        self.table_name: str = self._tables[0]
        self._schema = compiled.schema
        root = compiled.root
        assert isinstance(root, _Child)
        self._conv: Callable[[Any, Any, list], Any] = root.conv
        oef = spec.get(OBJECTS_EXTRACT_FN)
        self._where = f"translator '{self.table_name}'"
        self._extract = (_wrap_user_fn(oef, OBJECTS_EXTRACT_FN, self._where)
                         if oef is not None else None)

    def tables(self) -> list[str]:
        """The root table and all its sub-tables, parents before children."""
        return list(self._tables)

    def schema(self) -> dict[str, list[dict]]:
        """table -> ``[{"name", "desc"}, ...]``, plus ``"type"``/``"nullable"`` where declared."""
        return {t: [dict(c) for c in self._schema[t]] for t in self._tables}

    def translate(self, objs: Any) -> dict[str, set[tuple]]:
        """Rows of every table of this translator for the objects ``objs``.

        Raises TranslatorError when the data does not have the declared shape or a function of
        the translator fails.
        """
        sinks: list[set] = [set() for _ in self._tables]
        if self._extract is not None:
            objs = self._extract(objs)
        conv = self._conv
        try:
            for o in _as_sequence(objs, self._where + " (list of objects)"):
                if o is not None:
                    conv(o, None, sinks)
        except TranslatorError:
            raise
        except Exception as e:   # e.g. a property of a client object raising
            raise TranslatorError(f"{self._where}: translation failed: {e!r}",
                                  data={"where": self._where}) from e
        return dict(zip(self._tables, sinks, strict=True))

    def __repr__(self) -> str:
        return f"<Translator {self.table_name} tables={list(self._tables)}>"


class TranslatorSet:
    """All the translators of a driver; table names are unique across all of them."""

    def __init__(self, specs: list[dict]) -> None:
        taken: set[str] = set()
        self.translators: list[Translator] = [Translator(s, _taken=taken) for s in specs]
        self._by_root = {t.table_name: t for t in self.translators}
        self._root_of = {table: t.table_name for t in self.translators for table in t.tables()}

    def schema(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for t in self.translators:
            out.update(t.schema())
        return out

    def tables(self) -> list[str]:
        """Every table, translator by translator, parents before children."""
        return list(self._root_of)

    def root_tables(self) -> list[str]:
        return list(self._by_root)

    def translator_for(self, table: str) -> Translator:
        """The translator whose root table is ``table`` (KeyError if there is none)."""
        try:
            return self._by_root[table]
        except KeyError:
            raise KeyError(f"no translator has root table {table!r}") from None

    def root_of(self, table: str) -> str:
        """The root table of the translator that fills ``table`` (KeyError if unknown)."""
        try:
            return self._root_of[table]
        except KeyError:
            raise KeyError(f"no translator fills table {table!r}") from None

    def __contains__(self, table: object) -> bool:
        return table in self._root_of

    def __iter__(self):  # noqa: ANN204
        return iter(self.translators)

    def __len__(self) -> int:
        return len(self.translators)
