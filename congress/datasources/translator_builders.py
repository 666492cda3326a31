"""Compiled translator nodes, and the row builders of HDICT, VDICT and LIST translators.

Each non-VALUE translator compiles into a closure ``conv(obj, parent_ctx, sinks)`` that adds the
rows of one object (and, through its children, of the sub-tables) to ``sinks`` (one set per
table) and returns the object's id when the translator has an ``id-col``. The closures hold
everything they need (field names, extract functions, column positions), so translating reads no
translator key. The builders validate the keys of their own type and ask the compiler
(:class:`~congress.datasources.translator_compiler.Compiler`) for their children.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from itertools import repeat
from operator import itemgetter
from typing import Any, Protocol

from congress.datasources.translator_data import (
    NOT_OBJECTS,
    as_items,
    as_sequence,
    make_getter,
    make_id_fn,
    short,
    type_name,
)
from congress.datasources.translator_format import (
    COL,
    DESCRIPTION,
    DOT_SELECTOR,
    FIELD_TRANSLATOR_PARAMS,
    FIELD_TRANSLATORS,
    FIELDNAME,
    HDICT,
    IN_LIST,
    KEY_COL,
    LIST,
    PARENT_KEY,
    SELECTOR_TYPE,
    SELECTORS,
    TRANSLATOR,
    VAL_COL,
    VAL_COL_DESC,
    VDICT,
)
from congress.datasources.values import normalize_value
from congress.exceptions import TranslatorError


# --------------------------------------------------------------------------- compiled nodes
class Child:
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


class ValueSpec:
    """A compiled VALUE translator: ``ext(raw) -> normalised value`` and its schema info."""

    __slots__ = ("ext", "type_name", "nullable")

    def __init__(self, ext: Callable[[Any], Any], type_name: str | None, nullable: bool) -> None:
        self.ext = ext
        self.type_name = type_name
        self.nullable = nullable


def column(name: str, desc: Any = None, value: ValueSpec | None = None) -> dict:
    col: dict[str, Any] = {"name": name, "desc": desc}
    if value is not None:
        if value.type_name is not None:
            col["type"] = value.type_name
        if not value.nullable:
            col["nullable"] = False
    return col


def ignore(_raw: Any) -> None:
    return None


class NodeCompiler(Protocol):
    """What the builders need from the compiler."""

    schema: dict[str, list[dict]]

    def fail(self, where: str, key: str | None, message: str) -> TranslatorError: ...

    def str_key(self, spec: Mapping, key: str, where: str, *, required: bool = False,
                default: Any = None) -> Any: ...

    def node(self, spec: Any, parent: dict | None, context: str) -> Child | ValueSpec: ...

    def sub(self, spec: Any, parent: dict, context: str, where: str,
            key: str) -> Child | ValueSpec: ...


# --------------------------------------------------------------------------- HDICT
def build_hdict(compiler: NodeCompiler, info: dict) -> Callable[[Any, Any, list], Any]:
    spec, table, where = info["spec"], info["table"], info["where"]
    selector = spec.get(SELECTOR_TYPE)
    if selector is None:
        raise compiler.fail(where, SELECTOR_TYPE, f"Param ({SELECTOR_TYPE}) must be in "
                                               "translator")
    if selector not in SELECTORS:
        raise compiler.fail(where, SELECTOR_TYPE, f"{SELECTOR_TYPE} must be DICT_SELECTOR or "
                                               f"DOT_SELECTOR, found {short.repr(selector)}")
    in_list = spec.get(IN_LIST, False)
    if not isinstance(in_list, bool):
        raise compiler.fail(where, IN_LIST, f"Param ({IN_LIST}) must be true or false, "
                                         f"found {short.repr(in_list)}")
    if FIELD_TRANSLATORS not in spec:
        raise compiler.fail(where, FIELD_TRANSLATORS, f"Param ({FIELD_TRANSLATORS}) must be in "
                                                   "translator")
    fields = spec[FIELD_TRANSLATORS]
    if isinstance(fields, Mapping) or not isinstance(fields, (list, tuple)):
        raise compiler.fail(where, FIELD_TRANSLATORS, f"{FIELD_TRANSLATORS} must be a list of "
                                                   f"dicts, found {type_name(fields)}")

    # First pass: validate the field dicts, find the columns the parent row will have.
    parsed = []
    for i, ft in enumerate(fields):
        fwhere = f"{where}, field translator #{i}"
        if not isinstance(ft, Mapping):
            raise compiler.fail(fwhere, None, f"a field translator must be a dict, found "
                                           f"{type_name(ft)}")
        unknown = sorted(str(k) for k in ft if k not in FIELD_TRANSLATOR_PARAMS)
        if unknown:
            raise compiler.fail(fwhere, unknown[0],
                             f"Params ({', '.join(unknown)}) are invalid. Valid params: "
                             f"{', '.join(FIELD_TRANSLATOR_PARAMS)}")
        name = compiler.str_key(ft, FIELDNAME, fwhere, required=True)
        fwhere = f"{where}, field '{name}'"
        col = compiler.str_key(ft, COL, fwhere, default=name)
        desc = ft.get(DESCRIPTION)
        if desc is not None and not isinstance(desc, str):
            raise compiler.fail(fwhere, DESCRIPTION, f"Param ({DESCRIPTION}) must be a string")
        if TRANSLATOR not in ft:
            raise compiler.fail(fwhere, TRANSLATOR, f"Param ({TRANSLATOR}) must be in field "
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
    compiler.schema[table] = columns
    for _name, col, desc, _sub, _ in non_pk:
        columns.append(column(col, desc))

    # Second pass: compile the sub-translators, in declared order so that tables() follows
    # the translator. A parent-key child may name any column computed above, whichever
    # field comes first.
    parent = {"table": table, "kind": HDICT, "names": names}
    exts: list[Callable[[Any], Any]] = []
    id_children: list[tuple[int, Callable]] = []
    pk_children: list[Callable] = []
    i = 0
    for name, col, desc, sub, is_pk_child in parsed:
        compiled = compiler.node(sub, parent, f"field '{name}' of table '{table}'")
        if is_pk_child:
            assert isinstance(compiled, Child)
            pk_children.append(compiled.call)
            continue
        if isinstance(compiled, ValueSpec):
            exts.append(compiled.ext)
            columns[i + len(head)] = column(col, desc, compiled)
        else:
            exts.append(ignore)
            id_children.append((i, compiled.call))
        i += 1

    # Internal order of the values of a row: plain VALUE fields (no extract-fn, no type:
    # normalised in one C-level map), then the other VALUE fields, then the id-col
    # sub-translators; ``perm`` puts them back in column order.
    plain = [i for i, e in enumerate(exts) if e is normalize_value]
    custom = [i for i, e in enumerate(exts) if e is not normalize_value and e is not ignore]
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
    getter = make_getter(selector, where)
    index = info["index"]
    pk_index = info["pk_index"]
    idfn = make_id_fn(info["id_col"], where) if has_id else None
    norm = normalize_value

    def row_conv(o: Any, ctx: Any, sinks: list) -> Any:
        if dot:
            if type(o) in NOT_OBJECTS:
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
        for o in as_sequence(obj, lwhere):
            if o is not None:
                h = row_conv(o, ctx, sinks)
        return h if h is not None or not has_id else "None"

    return list_conv

# --------------------------------------------------------------------------- VDICT
def build_vdict(compiler: NodeCompiler, info: dict) -> Callable[[Any, Any, list], Any]:
    spec, table, where = info["spec"], info["table"], info["where"]
    key_col = compiler.str_key(spec, KEY_COL, where, required=True)
    val_col = compiler.str_key(spec, VAL_COL, where, required=True)
    columns = list(info["head"]) + [column(key_col)]
    compiler.schema[table] = columns
    sub = compiler.sub(spec.get(TRANSLATOR), {"table": table, "kind": VDICT,
                                           "names": {key_col: 0}},
                    f"values of table '{table}'", where, TRANSLATOR)
    if isinstance(sub, ValueSpec):
        columns.append(column(val_col, None, sub))
    elif not sub.has_parent_key:
        columns.append(column(val_col))

    index = info["index"]
    has_pk = info["parent_key"] is not None
    pk_index = info["pk_index"]
    idfn = make_id_fn(info["id_col"], where) if info["id_col"] is not None else None
    norm = normalize_value

    if isinstance(sub, ValueSpec):
        ext = sub.ext

        def conv(obj: Any, ctx: Any, sinks: list) -> Any:
            pairs = [(norm(k), ext(v)) for k, v in as_items(obj, where)]
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
        for k, v in as_items(obj, where):
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

# --------------------------------------------------------------------------- LIST
def build_list(compiler: NodeCompiler, info: dict) -> Callable[[Any, Any, list], Any]:
    spec, table, where = info["spec"], info["table"], info["where"]
    val_col = compiler.str_key(spec, VAL_COL, where, required=True)
    val_desc = spec.get(VAL_COL_DESC)
    columns = list(info["head"])
    compiler.schema[table] = columns
    sub = compiler.sub(spec.get(TRANSLATOR), {"table": table, "kind": LIST, "names": {}},
                    f"elements of table '{table}'", where, TRANSLATOR)
    columns.append(column(val_col, val_desc,
                           sub if isinstance(sub, ValueSpec) else None))

    index = info["index"]
    has_pk = info["parent_key"] is not None
    pk_index = info["pk_index"]
    idfn = make_id_fn(info["id_col"], where) if info["id_col"] is not None else None
    norm = normalize_value

    if isinstance(sub, ValueSpec):
        ext = sub.ext

        def elements(obj: Any, sinks: list) -> list:
            return [ext(o) for o in as_sequence(obj, where)]
    else:
        call = sub.call

        def elements(obj: Any, sinks: list) -> list:
            return [norm(call(o, None, sinks)) for o in as_sequence(obj, where)]

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
