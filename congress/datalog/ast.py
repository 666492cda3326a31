"""Abstract syntax of the Congress Datalog dialect.

Terms are :class:`Variable` or :class:`Constant`; a :class:`Literal` is a possibly negated atom
over a table (with an optional service/policy prefix and modal); a :class:`Rule` has one or more
heads and a body. A statement without ``:-`` is a :class:`Literal` (a fact when ground).

All nodes are immutable and compare structurally (positions are ignored); ``str()`` prints them
the way OpenStack Congress printed them (clients compare rule texts), except that strings are
escaped, so printed rules parse back to equal rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

Value = str | int | float

STRING = "STRING"
INTEGER = "INTEGER"
FLOAT = "FLOAT"


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    position: tuple[int, int] | None = field(default=None, compare=False, hash=False)

    is_variable = True

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Constant:
    value: Value
    kind: str = STRING
    position: tuple[int, int] | None = field(default=None, compare=False, hash=False)

    is_variable = False

    @staticmethod
    def of(value: Value) -> Constant:
        """Constant for a Python value (bool is not a Datalog value; callers normalize first)."""
        if isinstance(value, str):
            return Constant(value, STRING)
        if isinstance(value, int) and not isinstance(value, bool):
            return Constant(value, INTEGER)
        if isinstance(value, float):
            return Constant(value, FLOAT)
        raise TypeError(f"no Datalog constant for {value!r}")

    def __str__(self) -> str:
        if self.kind == STRING:
            return quote_string(self.value)  # type: ignore[arg-type]
        return str(self.value)


_QUOTE_TABLE = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t",
                              "\r": "\\r"})


def quote_string(value: str) -> str:
    """Double-quoted form of a string constant that the parser reads back to the same value.

    OpenStack Congress printed the raw value without escaping; values without quotes, backslashes or
    control characters print exactly as they did there.
    """
    return '"' + value.translate(_QUOTE_TABLE) + '"'


Term = Variable | Constant
ColumnRef = str | int


@dataclass(frozen=True, slots=True)
class Literal:
    """``[not] [modal[] [service:]table(args, col=arg, ...) []]``."""

    table: str
    args: tuple[Term, ...] = ()
    service: str | None = None
    modal: str | None = None
    negated: bool = False
    named: tuple[tuple[ColumnRef, Term], ...] = ()
    position: tuple[int, int] | None = field(default=None, compare=False, hash=False)

    # ----------------------------------------------------------------- naming
    def tablename(self, default_service: str | None = None) -> str:
        """``service:table`` (or just ``table`` without any service)."""
        service = self.service or default_service
        return f"{service}:{self.table}" if service else self.table

    @property
    def arity(self) -> int:
        return len(self.args)

    def is_update(self) -> bool:
        return self.table.endswith(("+", "-"))

    def drop_update(self) -> Literal:
        return replace(self, table=self.table[:-1]) if self.is_update() else self

    # ----------------------------------------------------------------- terms
    def variables(self) -> set[str]:
        """Names of variables among positional and named arguments."""
        names = {a.name for a in self.args if a.is_variable}
        names.update(t.name for _, t in self.named if t.is_variable)
        return names

    def is_ground(self) -> bool:
        return not any(a.is_variable for a in self.args) and not any(
            t.is_variable for _, t in self.named)

    def plug(self, binding: dict[str, Value]) -> Literal:
        """Replace bound variables by constants."""
        def sub(t: Term) -> Term:
            if t.is_variable and t.name in binding:
                return Constant.of(binding[t.name])
            return t
        return replace(self, args=tuple(sub(a) for a in self.args),
                       named=tuple((c, sub(t)) for c, t in self.named))

    def values(self) -> tuple[Value, ...]:
        """The row of a ground literal without named arguments."""
        return tuple(a.value for a in self.args)  # type: ignore[union-attr]

    def negate(self, negated: bool = True) -> Literal:
        return replace(self, negated=negated)

    def with_args(self, args: Iterable[Term]) -> Literal:
        return replace(self, args=tuple(args), named=())

    # ----------------------------------------------------------------- printing
    def atom_str(self) -> str:
        args = ", ".join(str(a) for a in self.args)
        named = ", ".join(f"{c}={t}" for c, t in self.named)
        if args and named:
            args += "," + named
        elif named:
            args = named
        s = f"{self.tablename()}({args})"
        if self.modal is not None:
            s = f"{self.modal}[{s}]"
        return s

    def __str__(self) -> str:
        s = self.atom_str()
        return "not " + s if self.negated else s

    @staticmethod
    def fact(table: str, row: Iterable[Value], service: str | None = None) -> Literal:
        return Literal(table, tuple(Constant.of(v) for v in row), service=service)


@dataclass(frozen=True, slots=True)
class Rule:
    heads: tuple[Literal, ...]
    body: tuple[Literal, ...]
    position: tuple[int, int] | None = field(default=None, compare=False, hash=False)

    @property
    def head(self) -> Literal:
        return self.heads[0]

    def variables(self) -> set[str]:
        out: set[str] = set()
        for lit in self.heads:
            out |= lit.variables()
        for lit in self.body:
            out |= lit.variables()
        return out

    def literals(self) -> Iterator[Literal]:
        yield from self.heads
        yield from self.body

    def is_update(self) -> bool:
        return self.head.is_update()

    def __str__(self) -> str:
        heads = ", ".join(str(h) for h in self.heads)
        if not self.body:
            return heads
        return f"{heads} :- " + ", ".join(str(b) for b in self.body)

    def pretty_str(self) -> str:
        """The form the v1 API returns for a created rule: one body literal a line."""
        heads = ", ".join(str(h) for h in self.heads)
        if not self.body:
            return heads
        return f"{heads} :- \n    " + ",\n    ".join(str(b) for b in self.body)


Statement = Rule | Literal


@dataclass(frozen=True, slots=True)
class Event:
    """``insert[rule]`` / ``delete[rule]`` (in the grammar, so it parses; the API refuses it)."""

    formula: Statement
    insert: bool = True
    target: str | None = None

    def __str__(self) -> str:
        text = "insert" if self.insert else "delete"
        target = f" for {self.target}" if self.target else ""
        return f"{text}[{self.formula}]{target}"
