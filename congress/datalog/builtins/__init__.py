"""The builtin tables of the Datalog dialect (doc/policy-language.md §6), one module per family.

Every family module holds a ``BUILTINS`` list; this package registers all of them in one table,
:data:`BUILTINS`, keyed by name. Names are unique across families (checked at import time), and a
literal is a builtin only when its arity matches (:func:`lookup`).
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType

from congress.datalog.builtins import (
    arithmetic,
    comparison,
    datetime,
    netaddr,
    string,
    validators,
)
from congress.datalog.builtins.base import Builtin

__all__ = ["BUILTINS", "Builtin", "families", "is_builtin_name", "lookup"]

FAMILY_MODULES: tuple[ModuleType, ...] = (
    comparison,
    arithmetic,
    string,
    datetime,
    netaddr,
    validators,
)


def build_registry(builtins: Iterable[Builtin]) -> dict[str, Builtin]:
    """Name -> Builtin; raises ValueError on a duplicate name."""
    table: dict[str, Builtin] = {}
    for builtin in builtins:
        if builtin.name in table:
            raise ValueError(
                f"builtin {builtin.name!r} registered twice "
                f"(families {table[builtin.name].family!r} and {builtin.family!r})"
            )
        table[builtin.name] = builtin
    return table


BUILTINS: dict[str, Builtin] = build_registry(
    builtin for module in FAMILY_MODULES for builtin in module.BUILTINS
)


def lookup(table: str, arity: int) -> Builtin | None:
    """The builtin named ``table`` with exactly ``arity`` arguments, else None.

    ``table`` is the bare name: the caller strips any ``service:`` prefix first.
    """
    builtin = BUILTINS.get(table)
    if builtin is not None and builtin.arity == arity:
        return builtin
    return None


def is_builtin_name(table: str) -> bool:
    """Whether ``table`` names a builtin, whatever the arity."""
    return table in BUILTINS


def families() -> dict[str, list[Builtin]]:
    """Family name -> its builtins, in registration order (a fresh copy)."""
    result: dict[str, list[Builtin]] = {}
    for builtin in BUILTINS.values():
        result.setdefault(builtin.family, []).append(builtin)
    return result
