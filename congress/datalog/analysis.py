"""Static checks of statements: column references, safety, schemas, modals, heads.

Everything here is pure: it takes statements plus a view of what the engine knows (policy kinds,
datasource schemas, table arities) and returns new statements or errors. The runtime calls
:func:`prepare_statement` for every inserted statement and applies nothing unless every statement
of the request passes (all-or-nothing).

The checks and their messages are OpenStack Congress's, so that clients matching on them keep
working. Column references: doc/policy-language.md §4; the other checks:
doc/policy-language.md §7.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from congress.datalog import builtins
from congress.datalog.ast import Literal, Rule, Statement, Term, Variable
from congress.exceptions import (
    BuiltinConflictError,
    FactError,
    HeadError,
    IncompleteSchemaError,
    ModalError,
    PolicyError,
    SafetyError,
    SchemaError,
)

PERMITTED_MODALS = ("execute",)
RESERVED_TRUE = "true"
RESERVED_FALSE = "false"


@dataclass(frozen=True)
class PolicyView:
    """What the checks need to know about a policy."""

    name: str
    kind: str
    # datasource policies: table -> column names (positional order); None otherwise
    tables: dict[str, list[str]] | None = None


SchemaLookup = Callable[[str], "PolicyView | None"]
ArityLookup = Callable[[str, str], "int | None"]


def builtin_of(lit: Literal) -> builtins.Builtin | None:
    """The builtin a body literal denotes (any service prefix is ignored), else None."""
    if lit.modal is not None:
        return None
    return builtins.lookup(lit.table, len(lit.args) + len(lit.named))


def _full_tablename(lit: Literal) -> str:
    """``modal:service:table``, the way error messages name a table."""
    return ":".join(x for x in (lit.modal, lit.service, lit.table) if x)


def literal_policy(lit: Literal, policy: str) -> str:
    return lit.service or policy


# --------------------------------------------------------------------------- column references
def unused_prefix(stmt: Statement) -> str:
    names = stmt.variables() if isinstance(stmt, Rule) else stmt.variables()
    prefix = "x_"
    while any(n.startswith(prefix) for n in names):
        prefix += "_"
    return prefix


def eliminate_columns(lit: Literal, policy: str, lookup: SchemaLookup, prefix: str
                      ) -> tuple[Literal, set[str]]:
    """Turn named arguments into positional ones and pad short literals on datasource tables.

    Returns the new literal and the names of the padding variables it introduced.
    """
    if lit.modal is not None and lit.named:
        # execute[nova:servers.pause(id=x)]: columns are resolved as for the bare atom (the
        # original did too), so an action that is not a table is an unknown table
        inner, pads = eliminate_columns(replace(lit, modal=None), policy, lookup, prefix)
        return replace(inner, modal=lit.modal), pads
    if lit.modal is not None or builtin_of(lit) is not None:
        if lit.named and builtin_of(lit) is not None:
            raise SchemaError(f"Literal {lit} uses column references, but builtins have no "
                              "named columns", code="unknown_column", position=lit.position)
        return lit, set()
    target = literal_policy(lit, policy)
    view = lookup(target)
    columns: list[str] | None = None
    if view is not None and view.tables is not None:
        # a table declared without columns (the generic push driver) has an unknown width
        columns = view.tables.get(lit.table) or None
    if lit.named:
        if view is None:
            raise IncompleteSchemaError(
                f"Literal {lit} uses named arguments, but the schema is unknown.",
                position=lit.position)
        if view.tables is None:
            raise SchemaError(
                f"Literal {lit} uses column references, but '{target}' does not reference a "
                "datasource policy.", code="not_datasource", position=lit.position)
        if columns is None:
            raise IncompleteSchemaError(f"Literal {lit} uses unknown table {lit.table}.",
                                        position=lit.position)
    if columns is None:
        return lit, set()

    arity = len(columns)
    errors: list[PolicyError] = []
    by_position: dict[int, Term] = {}
    for col, term in lit.named:
        if isinstance(col, str):
            try:
                index = columns.index(col)
            except ValueError:
                errors.append(SchemaError(
                    f"In literal {lit} column name {col} does not exist",
                    code="unknown_column", position=lit.position))
                continue
            if index < len(lit.args):
                errors.append(SchemaError(
                    f"In literal {lit} column name {col} references position {index}, which is "
                    "already provided by position.", code="column_conflict",
                    position=lit.position))
                continue
            if index in by_position:
                errors.append(SchemaError(
                    f"In literal {lit} column name {col} references position {index}, which is "
                    "also referenced by number.", code="column_conflict", position=lit.position))
                continue
        else:
            index = col
            if index >= arity:
                errors.append(SchemaError(f"In literal {lit} column index {index} is too large",
                                          code="unknown_column", position=lit.position))
                continue
            if index < len(lit.args):
                errors.append(SchemaError(
                    f"In literal {lit} column index {index} is already provided by position.",
                    code="column_conflict", position=lit.position))
                continue
            if index in by_position:
                errors.append(SchemaError(
                    f"In literal {lit} column index {index} references column "
                    f"{columns[index]}, which is also referenced by name.",
                    code="column_conflict", position=lit.position))
                continue
        by_position[index] = term
    if errors:
        raise SchemaError(" ".join(e.message for e in errors), code=errors[0].code,
                          position=lit.position)
    if len(lit.args) > arity:
        raise SchemaError(
            f"Literal {lit} contained {len(lit.args)} arguments but exactly {arity} arguments "
            "are permitted", code="arity_mismatch", position=lit.position)
    args = list(lit.args)
    pads: set[str] = set()
    for i in range(len(args), arity):
        term = by_position.get(i)
        if term is None:
            name = f"{prefix}{i}"
            term = Variable(name, position=lit.position)
            pads.add(name)
        args.append(term)
    return replace(lit, args=tuple(args), named=()), pads


# --------------------------------------------------------------------------- safety
def reorder_for_safety(rule: Rule, existential: frozenset[str] = frozenset()) -> Rule:
    """Stable reorder of the body so negations and builtin inputs come after their binders.

    ``existential`` are padding variables inside negated literals: they need no binder.
    Raises SafetyError (``Could not reorder rule ...``) when impossible.
    """
    safe: set[str] = set()
    new_body: list[Literal] = []
    waiting: list[tuple[Literal, set[str]]] = []

    def make_safe(lit: Literal) -> None:
        b = builtin_of(lit)
        if b is not None and not lit.negated:
            safe.update(a.name for a in lit.args if a.is_variable)
        elif not lit.negated:
            safe.update(lit.variables())
        new_body.append(lit)
        progress = True
        while progress:
            progress = False
            for item in waiting:
                if item[1] <= safe:
                    waiting.remove(item)
                    new_body.append(item[0])
                    if builtin_of(item[0]) is not None and not item[0].negated:
                        safe.update(a.name for a in item[0].args if a.is_variable)
                    progress = True
                    break

    for lit in rule.body:
        b = builtin_of(lit)
        if lit.negated:
            needed = lit.variables() - existential
        elif b is not None:
            needed = {a.name for a in lit.args[:b.num_inputs] if a.is_variable}
        else:
            make_safe(lit)
            continue
        if needed - safe:
            waiting.append((lit, needed))
        else:
            make_safe(lit)

    if waiting:
        parts = [f"{lit} (vars {_set_repr(needed - safe)})" for lit, needed in waiting]
        raise SafetyError(f"Could not reorder rule {rule}.  Unsafe lits: " + "; ".join(parts),
                          position=waiting[0][0].position or rule.position)
    return replace(rule, body=tuple(new_body))


def head_safety_errors(rule: Rule) -> list[PolicyError]:
    body_vars: set[str] = set()
    for lit in rule.body:
        body_vars |= lit.variables()
    errors: list[PolicyError] = []
    for head in rule.heads:
        for arg in head.args:
            if arg.is_variable and arg.name not in body_vars:
                errors.append(SafetyError(
                    f"Variable {arg.name} found in head but not in body, rule {rule}",
                    position=arg.position or head.position))
                body_vars.add(arg.name)  # report each variable once
    return errors


# --------------------------------------------------------------------------- schema (arity)
def arity_errors(lit: Literal, policy: str, lookup: SchemaLookup, arity_of: ArityLookup
                 ) -> list[PolicyError]:
    """Width of a literal against a datasource schema or the arity inferred from earlier uses."""
    if builtin_of(lit) is not None or (lit.modal is not None and not lit.service):
        return []
    target = literal_policy(lit, policy)
    view = lookup(target)
    expected: int | None = None
    if lit.modal is None and view is not None and view.tables is not None \
            and view.tables.get(lit.table):
        expected = len(view.tables[lit.table])
    if expected is None:
        expected = arity_of(target, relation_table(lit))
    if expected is not None and len(lit.args) != expected:
        return [SchemaError(
            f"Literal {lit} contained {len(lit.args)} arguments but exactly {expected} arguments "
            "are permitted", code="arity_mismatch", position=lit.position)]
    return []


def relation_table(lit: Literal) -> str:
    """The table part of the engine relation a literal reads or writes.

    ``execute[nova:servers.pause(x)]`` in policy P is the relation ``execute[nova:servers.pause]``
    of P; every other literal is its table in the policy its prefix names.
    """
    if lit.modal is not None:
        return f"{lit.modal}[{lit.tablename()}]"
    return lit.table


# --------------------------------------------------------------------------- the checks
def fact_errors(atom: Literal, policy: str, lookup: SchemaLookup, arity_of: ArityLookup
                ) -> list[PolicyError]:
    errors: list[PolicyError] = []
    if not atom.is_ground():
        errors.append(FactError(f"Fact not ground: {atom}", position=atom.position))
    errors.extend(arity_errors(atom, policy, lookup, arity_of))
    if atom.service is not None:
        errors.append(FactError(f"Fact {atom} should not reference any policy: {atom.service}",
                                position=atom.position))
    if builtins.is_builtin_name(atom.table):
        errors.append(BuiltinConflictError(
            f"Conflict with built-in tablename: {_full_tablename(atom)}", position=atom.position))
    if atom.modal is not None:
        errors.append(ModalError(f"Modals not allowed in facts; found {atom.modal} in {atom}",
                                 position=atom.position))
    return errors


def modal_errors(rule: Rule) -> list[PolicyError]:
    errors: list[PolicyError] = []
    modal_in_head = False
    for head in rule.heads:
        if head.modal is not None:
            modal_in_head = True
            if head.modal.lower() not in PERMITTED_MODALS:
                errors.append(ModalError(
                    f"Only 'execute' modal is allowed; found {head.modal} in head {head}",
                    position=head.position))
    if modal_in_head and len(rule.heads) > 1:
        errors.append(ModalError("May not have multiple rule heads with a modal: "
                                 + ", ".join(str(h) for h in rule.heads),
                                 position=rule.position))
    for lit in rule.body:
        if lit.modal is not None:
            errors.append(ModalError(
                f"Modals not allowed in the rule body; found {lit.modal} in body literal {lit}",
                position=lit.position))
    return errors


def head_policy_errors(rule: Rule, permit_updates: bool = False) -> list[PolicyError]:
    errors: list[PolicyError] = []
    for head in rule.heads:
        if head.service is not None and head.modal is None and \
                not (permit_updates and head.is_update()):
            errors.append(HeadError(
                f"Non-modal rule head {head} should not reference any policy: {rule}",
                position=head.position))
    return errors


def rule_errors(rule: Rule, policy: str, lookup: SchemaLookup, arity_of: ArityLookup,
                existential: frozenset[str]) -> tuple[list[PolicyError], Rule]:
    """All problems of a (column-eliminated) rule, and the rule reordered for safety."""
    errors: list[PolicyError] = []
    for lit in rule.literals():
        errors.extend(arity_errors(lit, policy, lookup, arity_of))
    errors.extend(head_safety_errors(rule))
    reordered = rule
    try:
        reordered = reorder_for_safety(rule, existential)
    except SafetyError as e:
        errors.append(e)
    errors.extend(head_policy_errors(rule))
    errors.extend(modal_errors(rule))
    for head in rule.heads:
        # modal heads too (execute[lt(x, y)]): every head is checked
        if builtins.is_builtin_name(head.table):
            errors.append(BuiltinConflictError(
                f"Conflict with built-in tablename: {_full_tablename(head)}",
                position=head.position))
    for lit in rule.body:
        if lit.table in (RESERVED_TRUE, RESERVED_FALSE) and lit.args:
            errors.append(SchemaError(f"Literal {lit}: {lit.table} takes no arguments",
                                      code="arity_mismatch", position=lit.position))
    return errors, reordered


def eliminate_statement(stmt: Statement, policy: str, lookup: SchemaLookup
                        ) -> tuple[Statement, frozenset[str]]:
    """Column elimination over a whole statement; pad variables inside negations are returned."""
    prefix = unused_prefix(stmt)
    if isinstance(stmt, Literal):
        lit, _ = eliminate_columns(stmt, policy, lookup, f"{prefix}0_")
        return lit, frozenset()
    heads = []
    errors: list[PolicyError] = []
    for i, head in enumerate(stmt.heads):
        try:
            heads.append(eliminate_columns(head, policy, lookup, f"{prefix}h{i}_")[0])
        except PolicyError as e:
            errors.append(e)
    # padding variables are <prefix><literal index><position> (x_02), the names OpenStack
    # Congress gave them (they appear in error messages); if
    # that is ambiguous in this rule (literal 1 position 12 vs literal 11 position 2), a
    # separator keeps them apart
    for sep in ("", "_"):
        body = []
        existential: set[str] = set()
        body_errors: list[PolicyError] = []
        seen: set[str] = set()
        clash = False
        for i, lit in enumerate(stmt.body):
            try:
                new, pads = eliminate_columns(lit, policy, lookup, f"{prefix}{i}{sep}")
            except PolicyError as e:
                body_errors.append(e)
                continue
            clash = clash or bool(seen & pads)
            seen |= pads
            if lit.negated:
                existential |= pads
            body.append(new)
        if not clash:
            break
    errors.extend(body_errors)
    if errors:
        if len(errors) == 1:
            raise errors[0]
        from congress.exceptions import PolicyValidationError
        raise PolicyValidationError(errors)
    return replace(stmt, heads=tuple(heads), body=tuple(body)), frozenset(existential)


def statement_literals(stmt: Statement) -> Iterable[Literal]:
    if isinstance(stmt, Rule):
        yield from stmt.literals()
    else:
        yield stmt


def _set_repr(names: set[str]) -> str:
    return "{" + ", ".join(repr(n) for n in sorted(names)) + "}"
