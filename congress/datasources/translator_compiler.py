"""The translator compiler: validates a translator tree and compiles it, in one walk.

:class:`Compiler` checks the keys every translator type shares (type, table name, parent key or
id column, objects-extract-fn), compiles VALUE translators and hands HDICT, VDICT and LIST
translators to their builders (:mod:`congress.datasources.translator_builders`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from congress.datasources.translator_builders import (
    Child,
    ValueSpec,
    build_hdict,
    build_list,
    build_vdict,
    column,
)
from congress.datasources.translator_data import (
    EMPTY_HASH,
    short,
    type_name,
    wrap_user_fn,
)
from congress.datasources.translator_format import (
    DATA_TYPE,
    EXTRACT_FN,
    HDICT,
    ID_COL,
    ID_COL_NAME,
    LIST,
    NULLABLE,
    OBJECTS_EXTRACT_FN,
    PARAMS,
    PARENT_COL_NAME,
    PARENT_KEY,
    PARENT_KEY_COL_NAME,
    PARENT_KEY_DESC,
    TABLE_NAME,
    TRANSLATION_TYPE,
    VALID_TRANSLATION_TYPES,
    VALUE,
    VDICT,
)
from congress.datasources.values import data_type_name, normalize_value, resolve_data_type
from congress.exceptions import TranslatorError

LOG = logging.getLogger(__name__)


class Compiler:
    """Validates one top-level translator and compiles it into closures, in one walk."""

    def __init__(self, spec: Any, taken: set[str] | None = None) -> None:
        self.tables: list[str] = []
        self.schema: dict[str, list[dict]] = {}
        self.taken = taken if taken is not None else set()
        self.root = self.node(spec, parent=None, context="top-level translator")

    # ----------------------------------------------------------------- validation helpers
    @staticmethod
    def fail(where: str, key: str | None, message: str) -> TranslatorError:
        return TranslatorError(f"{where}: {message}", data={"where": where, "key": key})

    def check_common(self, spec: Any, where: str) -> str:
        if not isinstance(spec, Mapping):
            raise self.fail(where, None, f"a translator must be a dict, found {type_name(spec)}")
        if TRANSLATION_TYPE not in spec:
            raise self.fail(where, TRANSLATION_TYPE,
                             f"Param ({TRANSLATION_TYPE}) must be in translator")
        ttype = spec[TRANSLATION_TYPE]
        if not isinstance(ttype, str) or ttype not in VALID_TRANSLATION_TYPES:
            raise self.fail(
                where, TRANSLATION_TYPE,
                f"Translation Type {ttype!r} not a valid translation-type "
                f"({', '.join(VALID_TRANSLATION_TYPES)})")
        valid = PARAMS[ttype]
        unknown = sorted(str(k) for k in spec if k not in valid)
        if unknown:
            raise self.fail(where, unknown[0],
                             f"Params ({', '.join(unknown)}) are invalid for {ttype}. "
                             f"Valid params: {', '.join(valid)}")
        return ttype

    def str_key(self, spec: Mapping, key: str, where: str, *, required: bool = False,
                 default: Any = None) -> Any:
        if key not in spec:
            if required:
                raise self.fail(where, key, f"Param ({key}) must be in translator")
            return default
        v = spec[key]
        if not isinstance(v, str) or not v:
            raise self.fail(where, key, f"Param ({key}) must be a non-empty string, "
                                         f"found {short.repr(v)}")
        return v

    def fn_key(self, spec: Mapping, key: str, where: str) -> Any:
        v = spec.get(key)
        if v is not None and not callable(v):
            raise self.fail(where, key, f"Param ({key}) must be a function, "
                                         f"found {type_name(v)}")
        return v

    # ----------------------------------------------------------------- dispatch
    def node(self, spec: Any, parent: dict | None, context: str) -> Child | ValueSpec:
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
        ttype = self.check_common(spec, where)
        if ttype == VALUE:
            if parent is None:
                raise self.fail(where, TRANSLATION_TYPE,
                                 "a top-level translator must be HDICT, VDICT or LIST")
            return self.value(spec, where)

        table = self.str_key(spec, TABLE_NAME, where, required=True)
        if table in self.taken:
            raise self.fail(where, TABLE_NAME, f"table ({table}) used twice")
        self.taken.add(table)
        self.tables.append(table)
        index = len(self.tables) - 1
        self.schema[table] = []          # reserve the slot: parents come before children

        parent_key = self.str_key(spec, PARENT_KEY, where)
        id_col = spec.get(ID_COL)
        if id_col is not None and not (callable(id_col) or (isinstance(id_col, str) and id_col)):
            raise self.fail(where, ID_COL, "Param (id-col) must be a non-empty string or a "
                                            f"function, found {type_name(id_col)}")
        if parent_key is not None and id_col is not None:
            raise self.fail(where, PARENT_KEY, f"Specify at most one of {PARENT_KEY} or "
                                                f"{ID_COL}")
        parent_col = self.str_key(spec, PARENT_COL_NAME, where, default=PARENT_KEY_COL_NAME)
        oef = self.fn_key(spec, OBJECTS_EXTRACT_FN, where)

        pk_index = None
        if parent is None:
            if parent_key is not None:
                raise self.fail(where, PARENT_KEY,
                                 "a top-level translator has no parent: remove parent-key")
        else:
            if parent_key is None and id_col is None:
                raise self.fail(
                    where, ID_COL,
                    f"a translator nested in table '{parent['table']}' needs {PARENT_KEY} or "
                    f"{ID_COL}: the parent row has to refer to the sub-table's rows")
            if parent["kind"] == LIST and id_col is None:
                raise self.fail(where, PARENT_KEY,
                                 f"the sub-translator of LIST '{parent['table']}' must use "
                                 f"{ID_COL}, not {PARENT_KEY}")
            if parent_key is not None:
                names = parent["names"]
                if parent_key not in names:
                    avail = ", ".join(names) or "none"
                    raise self.fail(
                        where, PARENT_KEY,
                        f"parent-key '{parent_key}' is not a column of the parent table "
                        f"'{parent['table']}' available to sub-tables (available: {avail})")
                pk_index = names[parent_key]

        head: list[dict] = []
        if id_col is not None:
            head.append(column(id_col if isinstance(id_col, str) else ID_COL_NAME))
        elif parent_key is not None:
            head.append(column(parent_col, spec.get(PARENT_KEY_DESC)))

        info = {
            "spec": spec, "table": table, "index": index, "where": where, "id_col": id_col,
            "parent_key": parent_key, "parent_col": parent_col, "pk_index": pk_index,
            "head": head,
        }
        if ttype == HDICT:
            conv = build_hdict(self, info)
        elif ttype == VDICT:
            conv = build_vdict(self, info)
        else:
            conv = build_list(self, info)

        names = [c["name"] for c in self.schema[table]]
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            raise self.fail(where, dups[0], f"duplicate column name(s) {', '.join(dups)}")

        has_id = id_col is not None
        empty_id = EMPTY_HASH if has_id else None
        if oef is not None and parent is not None:
            extract = wrap_user_fn(oef, OBJECTS_EXTRACT_FN, where)

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
        return Child(table, has_id, parent_key is not None, call, conv)

    # ----------------------------------------------------------------- VALUE
    def value(self, spec: Mapping, where: str) -> ValueSpec:
        fn = self.fn_key(spec, EXTRACT_FN, where)
        dt = None
        if spec.get(DATA_TYPE) is not None:
            dt = resolve_data_type(spec[DATA_TYPE])
            if dt is None:
                raise self.fail(where, DATA_TYPE,
                                 f"Param ({DATA_TYPE}) must name a known data type or have a "
                                 f"marshal method, found {short.repr(spec[DATA_TYPE])}")
        nullable = spec.get(NULLABLE, True)
        if not isinstance(nullable, bool):
            raise self.fail(where, NULLABLE, f"Param ({NULLABLE}) must be true or false, "
                                              f"found {short.repr(nullable)}")
        type_name = data_type_name(dt) if dt is not None else None
        if fn is None and dt is None and nullable:
            return ValueSpec(normalize_value, None, True)

        extract = wrap_user_fn(fn, EXTRACT_FN, where) if fn is not None else None
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
                    complain("value %s does not fit data-type %s: %s", short.repr(v),
                             type_name, e)
            if v is None and not nullable:
                complain("None in a column declared not nullable")
            return normalize_value(v)

        return ValueSpec(ext, type_name, nullable)

    def sub(self, spec: Any, parent: dict, context: str, where: str,
             key: str) -> Child | ValueSpec:
        if spec is None:
            raise self.fail(where, key, f"Param ({key}) must be in translator")
        return self.node(spec, parent, context)
