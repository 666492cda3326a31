"""Translation of datasource JSON (dicts, lists, client objects) into Datalog tables.

A driver lists its translators (the format is described in
:mod:`congress.datasources.translator_format`); :class:`TranslatorSet` validates and compiles
them once (:mod:`congress.datasources.translator_compiler`) and translates what the driver's
fetchers return into rows. Rows only hold values normalised by
:func:`~congress.datasources.values.normalize_value`.

The format is OpenStack Congress's, but checked more strictly, on purpose:

* errors are :class:`~congress.exceptions.TranslatorError` and name the table and the key, and a
  bad translator is refused when the driver is loaded, not when data first arrives;
* translators that cannot translate correctly are rejected up front: a root with ``parent-key``,
  a nested non-VALUE translator with neither ``parent-key`` nor ``id-col`` (its rows would be
  shorter than the schema), a ``parent-key`` naming no column of the parent, the sub-translator
  of a LIST without ``id-col``, duplicate column names;
* data of the wrong shape (a list where a dict is expected, a dict given to a LIST, a plain dict
  given to a ``DOT_SELECTOR``) raises TranslatorError naming the table, the field and the type
  found, instead of producing ``None`` columns or iterating over dict keys;
* a ``None`` object in the top-level list or in an ``in-list`` list is skipped;
* strings keep non-ASCII characters (see ``normalize_value``), also in computed ids;
* a callable ``id-col`` of a LIST whose elements are not VALUEs receives the list itself;
* VDICT keys are normalised in every row; a LIST's ``val-col-desc`` is reported with an
  ``id-col`` too; every schema column is a dict ``{"name", "desc", ...}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from congress.datasources.translator_builders import Child
from congress.datasources.translator_compiler import Compiler
from congress.datasources.translator_data import as_sequence, compute_hash, wrap_user_fn
from congress.datasources.translator_format import (
    DICT_SELECTOR,
    DOT_SELECTOR,
    HDICT,
    LIST,
    OBJECTS_EXTRACT_FN,
    VALUE,
    VDICT,
)
from congress.datasources.values import normalize_value
from congress.exceptions import TranslatorError

__all__ = [
    "HDICT", "VDICT", "LIST", "VALUE", "DICT_SELECTOR", "DOT_SELECTOR",
    "Translator", "TranslatorSet", "normalize_value", "compute_hash",
]


# --------------------------------------------------------------------------- public API
class Translator:
    """One top-level translator of a driver, validated and compiled once.

    ``translate(objs)`` takes what the client's list call returned (a list of objects; the
    root's ``objects-extract-fn``, if any, is applied to it first) and returns the rows of every
    table of this translator, including empty ones.
    """

    def __init__(self, spec: dict, *, _taken: set[str] | None = None) -> None:
        compiled = Compiler(spec, _taken)
        self.spec = spec
        self._tables = tuple(compiled.tables)
        self.table_name: str = self._tables[0]
        self._schema = compiled.schema
        root = compiled.root
        assert isinstance(root, Child)
        self._conv: Callable[[Any, Any, list], Any] = root.conv
        oef = spec.get(OBJECTS_EXTRACT_FN)
        self._where = f"translator '{self.table_name}'"
        self._extract = (wrap_user_fn(oef, OBJECTS_EXTRACT_FN, self._where)
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
            for o in as_sequence(objs, self._where + " (list of objects)"):
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
