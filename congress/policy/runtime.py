"""The policy Runtime: many policies of different kinds over one incrementally evaluated program.

A :class:`Runtime` is pure: no I/O, no threads, no config. The policy engine service wraps it
with a lock, the database and the bus.

Relations are named ``(policy, table)``: the rules of policy ``P`` define ``(P, t)`` for their
heads, a body literal ``Q:t(...)`` reads ``(Q, t)`` and an unprefixed one ``(P, t)``; datasource
policies hold the rows their drivers publish. ``execute[svc:act(...)]`` heads define
``(P, "execute[svc:act]")``, whose new rows are actions to run.

Every change (statements, data, policies) is all-or-nothing: it is fully checked before anything is
applied, and returns an :class:`Update` that says which action rows appeared or went away.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from congress import gcpause, steps
from congress.datalog import analysis
from congress.datalog.analysis import PolicyView, builtin_of, relation_table
from congress.datalog.ast import Constant, Literal, Rule, Statement
from congress.datalog.evaluation.codegen import (
    BUILTIN,
    FALSE,
    NEG,
    NEGBUILTIN,
    POS,
    TRUE,
    CLit,
    CRule,
)
from congress.datalog.evaluation.program import (
    DerivationLimit,
    EvaluationStopped,
    Program,
)
from congress.datalog.parser import parse_atom, parse_statements
from congress.exceptions import (
    HeadError,
    InvalidPolicyName,
    KindError,
    PolicyError,
    PolicyExists,
    PolicyNotFound,
    PolicyValidationError,
    RecursionNotAllowed,
    RowLimitExceeded,
    RuleExistsError,
    RuleNotFound,
    RuleNotPermitted,
    SchemaError,
    StratificationError,
    SystemPolicyError,
    TableNotFound,
    UnknownPolicyKind,
)
from congress.policy import kinds

Row = tuple
RelKey = tuple[str, str]


#: rows whose width one C call checks (:meth:`Runtime._check_width`)
_CHECK_STEP = 20_000


@dataclass
class RuleRecord:
    """A statement stored in a policy, as the API sees it."""

    id: str
    policy: str
    text: str                    # the text as submitted (what is persisted and listed)
    statement: Statement         # parsed, before column elimination
    prepared: Statement          # after column elimination / safety reordering
    name: str | None = None
    comment: str = ""
    existential: frozenset[str] = frozenset()
    evaluated: bool = False      # a rule the program evaluates (not just stored)

    @property
    def is_fact(self) -> bool:
        return isinstance(self.prepared, Literal)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "comment": self.comment, "rule": self.text}


@dataclass
class Policy:
    name: str
    kind: str
    id: str
    abbreviation: str
    description: str = ""
    owner: str = "user"
    rules: dict[str, RuleRecord] = field(default_factory=dict)
    by_key: dict[Any, str] = field(default_factory=dict)      # statement key -> rule id
    schema: dict[str, list[str]] | None = None                # datasource policies
    schema_raw: dict[str, list[Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "abbreviation": self.abbreviation,
                "description": self.description, "owner_id": self.owner, "kind": self.kind}

    def view(self) -> PolicyView:
        return PolicyView(self.name, self.kind, self.schema)


@dataclass
class Action:
    """A row of an ``execute[...]`` table."""

    policy: str
    service: str
    action: str
    args: Row

    def key(self) -> tuple:
        return (self.policy, self.service, self.action, self.args)


@dataclass
class Update:
    """What a change did to the action rows (reactive enforcement acts on ``actions_added``)."""

    actions_added: list[Action] = field(default_factory=list)
    actions_removed: list[Action] = field(default_factory=list)
    records: list[RuleRecord] = field(default_factory=list)

    def merge(self, other: Update) -> Update:
        self.actions_added.extend(other.actions_added)
        self.actions_removed.extend(other.actions_removed)
        self.records.extend(other.records)
        return self


def statement_key(stmt: Statement) -> Any:
    """When two statements are the same one (a duplicate insert, deletion by text): the order
    of body literals does not matter."""
    if isinstance(stmt, Rule):
        return ("rule", tuple(sorted(str(h) for h in stmt.heads)),
                tuple(sorted(str(b) for b in stmt.body)))
    if stmt.is_ground() and not stmt.negated and stmt.modal is None and not stmt.named:
        # values, not text: p(1) and p(1.0) are one row (values compare as numbers), so they
        # must be one statement too, or deleting one would remove the other's row
        return ("fact", stmt.service, stmt.table, stmt.values())
    return ("atom", str(stmt))


def normalize_value(v: Any) -> str | int | float:
    """A driver/JSON value as the engine sees it (doc/policy-language.md §5; non-ASCII text is
    kept)."""
    t = type(v)
    if t is str or t is int or t is float:
        return v
    if t is bool:
        return "True" if v else "False"
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, (str, int, float)):
        return v
    return str(v)


def normalize_row(row: Iterable[Any]) -> Row:
    return tuple(normalize_value(v) for v in row)


def _rows_of(rows: Iterable[Iterable[Any]], normalize: bool) -> Collection[Row]:
    """Rows as tuples of normalized values: a set or frozenset of rows whose values are
    normalized already (``normalize`` False) as it is; the engine makes a set of the rows
    anyway, and a copy of 300k rows into a list and back holds the interpreter ~60 ms."""
    if not normalize and isinstance(rows, (set, frozenset)):
        return rows
    return list(map(normalize_row if normalize else tuple, rows))


def schema_columns(columns: Iterable[Any]) -> list[str]:
    """Column names of a driver schema entry (strings or ``{"name": ...}`` dicts)."""
    out = []
    for c in columns:
        out.append(c["name"] if isinstance(c, dict) else str(c))
    return out


class Runtime:
    """All policies of one policy engine."""

    def __init__(self) -> None:
        self.program = Program()
        self.policies: dict[str, Policy] = {}
        self.arity: dict[RelKey, list[int]] = {}      # (policy, table) -> [arity, uses]
        self.action_tables: dict[RelKey, tuple[str, str, str]] = {}  # key -> policy, svc, act
        self._action_uses: dict[RelKey, int] = {}
        self.action_listeners: list[Callable[[Update], None]] = []
        self._rule_ids = itertools.count(1)
        self.revision = 0   # bumped on every change; services map it to DB/bus revisions
        self._tables_cache: dict[str, tuple[Policy, list[str], frozenset[str]]] = {}
        #: policies Congress maintains itself (never deleted through the runtime)
        self.system_policies = {name for name, _, _ in kinds.DEFAULT_POLICIES}

    # ================================================================== policies
    def create_policy(self, name: str, kind: str = kinds.NONRECURSIVE, *,
                      abbreviation: str | None = None, description: str = "",
                      id: str | None = None, owner: str = "user",
                      schema: dict[str, list[Any]] | None = None) -> Policy:
        kind = (kind or kinds.NONRECURSIVE).lower()
        if not kinds.valid_policy_name(name):
            raise InvalidPolicyName(f"Policy name {name} is not a valid tablename")
        if kind == kinds.Z3:
            raise UnknownPolicyKind("Z3 not available. Please install it")
        if kind not in kinds.CREATABLE:
            raise UnknownPolicyKind(f"Unknown kind of policy: {kind}")
        if name in self.policies:
            raise PolicyExists(f"Policy with name {name} already exists")
        pol = Policy(name=name, kind=kind, id=id or str(uuid.uuid4()),
                     abbreviation=abbreviation if abbreviation is not None else name[:5],
                     description=description or "", owner=owner)
        if kind == kinds.DATASOURCE:
            pol.schema_raw = dict(schema or {})
            pol.schema = {t: schema_columns(cols) for t, cols in (schema or {}).items()}
        self.policies[name] = pol
        self.revision += 1
        return pol

    def create_datasource_policy(self, name: str, schema: dict[str, list[Any]],
                                 id: str | None = None) -> Policy:
        return self.create_policy(name, kinds.DATASOURCE, schema=schema, id=id,
                                  description="datasource policy")

    def set_schema(self, name: str, schema: dict[str, list[Any]]) -> None:
        """Replace a datasource policy's schema (driver upgrade); rules are not re-checked."""
        pol = self.get_policy(name)
        self._tables_cache.pop(name, None)
        pol.schema_raw = dict(schema)
        pol.schema = {t: schema_columns(cols) for t, cols in schema.items()}

    def get_policy(self, name: str) -> Policy:
        pol = self.policies.get(name)
        if pol is None:
            raise PolicyNotFound(f"Policy {name} does not exist")
        return pol

    def delete_policy(self, name: str) -> Update:
        pol = self.get_policy(name)
        if name in self.system_policies:
            raise SystemPolicyError(f"Cannot delete system-maintained policy {name}")
        update = self.delete_rules(name, list(pol.rules)) if pol.rules else Update()
        update.actions_added.clear()
        update.actions_removed.clear()
        if pol.kind == kinds.DATASOURCE:
            keys = [k for k in self.program.relations if k[0] == name]
            dels = {k: set(self.program.relations[k].facts) for k in keys}
            update.merge(self._to_update(self.program.update_facts(dels=dels)))
            for k in keys:
                self.program.drop_relation_if_unused(k)
        del self.policies[name]
        self._tables_cache.pop(name, None)
        self.revision += 1
        self._notify(update)
        return update

    # ================================================================== views for analysis
    def _view(self, name: str) -> PolicyView | None:
        pol = self.policies.get(name)
        return pol.view() if pol is not None else None

    def _arity_of(self, policy: str, table: str, pending: dict[RelKey, int] | None = None
                  ) -> int | None:
        if pending and (policy, table) in pending:
            return pending[(policy, table)]
        entry = self.arity.get((policy, table))
        return entry[0] if entry else None

    def rel_key(self, lit: Literal, policy: str) -> RelKey:
        if lit.modal is not None:
            return (policy, relation_table(lit))
        return (lit.service or policy, relation_table(lit))

    # ================================================================== inserting statements
    def insert(self, policy: str, statements: str | Iterable[Statement | str], *,
               ids: list[str | None] | None = None, names: list[str | None] | None = None,
               comments: list[str | None] | None = None,
               max_derived_rows: int | None = None) -> Update:
        """Insert statements into ``policy``, all or nothing.

        ``statements`` is policy text or a list of statements/texts (each text one statement, kept
        as submitted). Raises a PolicyError subclass naming the problem; on error nothing
        changed. ``max_derived_rows``: the change is refused (:class:`RowLimitExceeded`) if
        any derived table would then hold more rows; checked while evaluating, before the
        table grows, so a runaway rule costs no more than the limit.
        """
        with gcpause.paused():
            return self._insert(policy, statements, ids, names, comments, max_derived_rows)

    def _insert(self, policy: str, statements: Any, ids: Any, names: Any, comments: Any,
                max_derived_rows: int | None = None) -> Update:
        pol = self.get_policy(policy)
        items = self._parse_items(statements)
        if not items:
            from congress.exceptions import EmptyRuleError
            raise EmptyRuleError("Empty string passed. Not a valid rule")
        prepared = self._prepare(pol, items)
        recs = []
        for i, (text, stmt, prep, existential, evaluated) in enumerate(prepared):
            rid = (ids[i] if ids and i < len(ids) and ids[i] else None) or str(uuid.uuid4())
            recs.append(RuleRecord(
                id=rid, policy=policy, text=text, statement=stmt, prepared=prep,
                name=names[i] if names and i < len(names) else None,
                comment=(comments[i] if comments and i < len(comments) else None) or "",
                existential=existential, evaluated=evaluated))
        update = self._apply_inserts(pol, recs, max_derived_rows)
        update.records = recs
        self.revision += 1
        self._notify(update)
        return update

    def _parse_items(self, statements: Any) -> list[tuple[str, Statement]]:
        if isinstance(statements, str):
            return [(str(s), s) for s in parse_statements(statements)]
        items = []
        for s in statements:
            if isinstance(s, tuple):
                items.append(s)
            elif isinstance(s, str):
                for st in parse_statements(s):
                    items.append((s, st))
            else:
                items.append((str(s), s))
        return items

    def _prepare(self, pol: Policy, items: list[tuple[str, Statement]]
                 ) -> list[tuple[str, Statement, Statement, frozenset[str], bool]]:
        if pol.kind == kinds.DATASOURCE:
            raise RuleNotPermitted("Rules not permitted on non persisted policies.")
        out = []
        pending_arity: dict[RelKey, int] = {}
        seen: set[Any] = set()
        duplicates: list[Statement] = []
        new_rules: list[CRule] = []
        for text, stmt in items:
            if pol.kind == kinds.DATABASE and isinstance(stmt, Rule):
                raise KindError(f"Non-atomic formula is not permitted: {stmt}",
                                position=stmt.position)
            if isinstance(stmt, Rule) and (len(stmt.heads) > 1 or stmt.head.negated):
                raise HeadError(f"Non-formula found: {stmt}", position=stmt.position)
            if isinstance(stmt, Literal) and stmt.negated:
                raise KindError(f"Negated atom is not a statement: {stmt}",
                                position=stmt.position)
            evaluated = isinstance(stmt, Rule) and pol.kind in kinds.EVALUATED
            if pol.kind == kinds.ACTION and isinstance(stmt, Rule):
                errors = analysis.head_policy_errors(stmt, permit_updates=True)
                if errors:
                    raise errors[0] if len(errors) == 1 else PolicyValidationError(errors)
                prep, existential = stmt, frozenset()
                # Action descriptions need no safety; the safe ones are also evaluated so their
                # tables can be queried (clients of OpenStack Congress query them).
                try:
                    ok = not analysis.head_safety_errors(stmt) and stmt.head.modal is None
                    prep = analysis.reorder_for_safety(stmt) if ok else stmt
                    evaluated = ok
                except PolicyError:
                    evaluated = False
            else:
                prep, existential = analysis.eliminate_statement(stmt, pol.name, self._view)

                def arity_of(p: str, t: str) -> int | None:
                    return self._arity_of(p, t, pending_arity)

                if isinstance(prep, Rule):
                    errors, prep = analysis.rule_errors(prep, pol.name, self._view, arity_of,
                                                        existential)
                else:
                    errors = analysis.fact_errors(prep, pol.name, self._view, arity_of)
                if errors:
                    raise errors[0] if len(errors) == 1 else PolicyValidationError(errors)
            key = statement_key(prep)
            if key in pol.by_key or key in seen:
                duplicates.append(stmt)
                continue
            seen.add(key)
            for lit in analysis.statement_literals(prep):
                if builtin_of(lit) is None and lit.table not in (analysis.RESERVED_TRUE,
                                                                 analysis.RESERVED_FALSE):
                    rk = self.rel_key(lit, pol.name)
                    if self._arity_of(*rk, pending_arity) is None:
                        pending_arity[rk] = len(lit.args)
            if isinstance(prep, Rule) and (pol.kind in kinds.EVALUATED
                                           or pol.kind == kinds.ACTION):
                new_rules.append(self._compile(pol.name, prep, existential, rule_id=None))
            out.append((text, stmt, prep, existential, evaluated))
        if duplicates and not out:
            first = duplicates[0]
            raise RuleExistsError(f"Rule already exists: {first}", position=first.position)
        if new_rules:
            self._check_recursion(new_rules)
        return out

    def _check_recursion(self, new_rules: list[CRule]) -> None:
        for members, negative in self.program.find_cycles(new_rules):
            allowed = all(self.policies.get(m[0]) is not None
                          and self.policies[m[0]].kind in kinds.RECURSIVE_OK for m in members)
            tables = ", ".join(f"{m[0]}:{m[1]}" for m in members)
            if not allowed:
                raise RecursionNotAllowed(f"Rules are recursive (cycle through {tables})")
            if negative:
                raise StratificationError(
                    f"Rules are not stratified: recursion through negation among {tables}")

    def _compile(self, policy: str, rule: Rule, existential: frozenset[str],
                 rule_id: Any) -> CRule:
        head = rule.head
        body: list[CLit] = []
        for lit in rule.body:
            b = builtin_of(lit)
            if b is not None:
                body.append(CLit(NEGBUILTIN if lit.negated else BUILTIN, None, lit.args, b))
            elif lit.table == analysis.RESERVED_TRUE and not lit.args and not lit.service:
                body.append(CLit(FALSE if lit.negated else TRUE))
            elif lit.table == analysis.RESERVED_FALSE and not lit.args and not lit.service:
                body.append(CLit(TRUE if lit.negated else FALSE))
            else:
                ex = frozenset(v for v in lit.variables() if v in existential) \
                    if lit.negated else frozenset()
                body.append(CLit(NEG if lit.negated else POS, self.rel_key(lit, policy),
                                 lit.args, None, ex))
        return CRule(rule_id if rule_id is not None else ("new", next(self._rule_ids)),
                     self.rel_key(head, policy), head.args, body, text=str(rule))

    def _use_arity(self, rec: RuleRecord, delta: int) -> None:
        for lit in analysis.statement_literals(rec.prepared):
            if builtin_of(lit) is not None or lit.table in (analysis.RESERVED_TRUE,
                                                            analysis.RESERVED_FALSE):
                continue
            rk = self.rel_key(lit, rec.policy)
            entry = self.arity.get(rk)
            if delta > 0:
                if entry is None:
                    self.arity[rk] = [len(lit.args), 1]
                else:
                    entry[1] += 1
            elif entry is not None:
                entry[1] -= 1
                if entry[1] <= 0:
                    del self.arity[rk]

    def _apply_inserts(self, pol: Policy, recs: list[RuleRecord],
                       max_derived_rows: int | None = None) -> Update:
        self._tables_cache.pop(pol.name, None)
        update = Update()
        facts: dict[RelKey, set[Row]] = {}
        for rec in recs:
            pol.rules[rec.id] = rec
            pol.by_key[statement_key(rec.prepared)] = rec.id
            self._use_arity(rec, +1)
            if rec.is_fact:
                lit = rec.prepared
                facts.setdefault((pol.name, lit.table), set()).add(lit.values())
        watched: list[Rule] = []
        previous = self.program.max_rows
        if max_derived_rows is not None:
            self.program.max_rows = max_derived_rows
        try:
            if facts:
                update.merge(self._to_update(self.program.update_facts(adds=facts)))
            for rec in recs:
                if rec.is_fact or not rec.evaluated:
                    continue
                crule = self._compile(pol.name, rec.prepared, rec.existential, rule_id=rec.id)
                self._watch_head(pol.name, rec.prepared)
                watched.append(rec.prepared)
                update.merge(self._to_update(self.program.add_rule(crule)))
        except EvaluationStopped as e:
            self._undo_inserts(pol, recs, facts, watched)
            raise self.limit_error(e) from None
        finally:
            self.program.max_rows = previous
        return update

    @staticmethod
    def limit_error(stop: EvaluationStopped) -> PolicyError:
        """The API error for an evaluation stopped by a limit."""
        assert isinstance(stop, DerivationLimit)
        policy, table = stop.key
        return RowLimitExceeded(
            f"Refused: table {policy}:{table} would hold more than {stop.limit} rows "
            f"(the limit on rows a table may derive); nothing was changed",
            data={"policy": policy, "table": table, "limit": stop.limit})

    def _undo_inserts(self, pol: Policy, recs: list[RuleRecord],
                      facts: dict[RelKey, set[Row]], watched: list[Rule]) -> None:
        """Take back an insert whose evaluation stopped half way (a derivation limit): the
        records go, and the program is rebuilt from the rules and facts it had before (the
        stopped pass left it inconsistent)."""
        for rec in recs:
            pol.rules.pop(rec.id, None)
            key = statement_key(rec.prepared)
            if pol.by_key.get(key) == rec.id:
                del pol.by_key[key]
            self._use_arity(rec, -1)
        for rule in watched:
            self._unwatch_head(pol.name, rule)
        self._tables_cache.pop(pol.name, None)
        self._rebuild_program(drop_rules={rec.id for rec in recs}, drop_facts=facts)

    def rebuild_program(self, drop_facts: dict[RelKey, set[Row]] | None = None,
                        add_facts: dict[RelKey, set[Row]] | None = None) -> None:
        """Rebuild the program from its rules and facts, the facts changed as given: how a
        pass stopped half way (EvaluationStopped) is taken back."""
        self._rebuild_program(set(), drop_facts or {}, add_facts or {})

    def _rebuild_program(self, drop_rules: set[str], drop_facts: dict[RelKey, set[Row]],
                         add_facts: dict[RelKey, set[Row]] | None = None) -> None:
        old = self.program
        facts: dict[RelKey, set[Row]] = {}
        for key, rel in old.relations.items():
            rows = set(rel.facts) - drop_facts.get(key, set())
            if rows:
                facts[key] = rows
        for key, rows in (add_facts or {}).items():
            facts.setdefault(key, set()).update(rows)
        new = Program()
        with gcpause.paused():
            for key in old.watched:
                new.watch(key)
            for rule_id, crule in old.rules.items():
                if rule_id not in drop_rules:
                    new.add_rule(crule)
            if facts:
                new.update_facts(adds=facts)
        new.max_rows = old.max_rows
        self.program = new

    def _watch_head(self, policy: str, rule: Rule) -> None:
        head = rule.head
        if head.modal != "execute":
            return
        key = self.rel_key(head, policy)
        self._action_uses[key] = self._action_uses.get(key, 0) + 1
        if key not in self.action_tables:
            self.action_tables[key] = (policy, head.service or policy, head.table)
            self.program.watch(key)

    def _unwatch_head(self, policy: str, rule: Rule) -> None:
        head = rule.head
        if head.modal != "execute":
            return
        key = self.rel_key(head, policy)
        self._action_uses[key] -= 1
        if self._action_uses[key] <= 0:
            del self._action_uses[key]
            del self.action_tables[key]
            self.program.unwatch(key)

    def _to_update(self, changes: dict) -> Update:
        update = Update()
        for key, (ins, dels) in changes.items():
            info = self.action_tables.get(key)
            if info is None:
                continue
            policy, svc, act = info
            update.actions_added.extend(Action(policy, svc, act, r) for r in ins)
            update.actions_removed.extend(Action(policy, svc, act, r) for r in dels)
        return update

    def _notify(self, update: Update) -> None:
        if update.actions_added or update.actions_removed:
            for listener in self.action_listeners:
                listener(update)

    # ================================================================== deleting statements
    def delete_rules(self, policy: str, rule_ids: Iterable[str]) -> Update:
        pol = self.get_policy(policy)
        rule_ids = list(rule_ids)
        for rid in rule_ids:
            if rid not in pol.rules:
                raise RuleNotFound(f"Rule {rid} does not exist in policy {policy}")
        self._tables_cache.pop(policy, None)
        update = Update()
        facts: dict[RelKey, set[Row]] = {}
        for rid in rule_ids:
            rec = pol.rules.pop(rid)
            pol.by_key.pop(statement_key(rec.prepared), None)
            self._use_arity(rec, -1)
            update.records.append(rec)
            if rec.is_fact:
                facts.setdefault((policy, rec.prepared.table), set()).add(rec.prepared.values())
            elif rec.evaluated:
                update.merge(self._to_update(self.program.remove_rule(rid)))
                self._unwatch_head(policy, rec.prepared)
        if facts:
            update.merge(self._to_update(self.program.update_facts(dels=facts)))
            for key in facts:
                self.program.drop_relation_if_unused(key)
        self.revision += 1
        self._notify(update)
        return update

    def delete_rule(self, policy: str, rule_id: str) -> RuleRecord:
        return self.delete_rules(policy, [rule_id]).records[0]

    def find_statement(self, policy: str, text: str | Statement) -> RuleRecord:
        """The stored statement equal to ``text`` (body order ignored): deletion by text."""
        pol = self.get_policy(policy)
        stmts = parse_statements(text) if isinstance(text, str) else [text]
        if len(stmts) != 1:
            raise PolicyError(f"Expected one statement, found {len(stmts)}")
        stmt = stmts[0]
        if pol.kind == kinds.ACTION and isinstance(stmt, Rule):
            prep = stmt
        else:
            prep, existential = analysis.eliminate_statement(stmt, policy, self._view)
            if isinstance(prep, Rule):
                try:
                    prep = analysis.reorder_for_safety(prep, existential)
                except PolicyError:
                    pass
        rid = pol.by_key.get(statement_key(prep))
        if rid is None:
            raise RuleNotFound(f"Rule {stmt} does not exist in policy {policy}")
        return pol.rules[rid]

    def delete(self, policy: str, text: str) -> Update:
        """Delete statements given as text (each must exist)."""
        recs = [self.find_statement(policy, s) for s in parse_statements(text)]
        return self.delete_rules(policy, [r.id for r in recs])

    def rules(self, policy: str) -> list[RuleRecord]:
        return list(self.get_policy(policy).rules.values())

    def get_rule(self, policy: str, rule_id: str) -> RuleRecord:
        pol = self.get_policy(policy)
        rec = pol.rules.get(rule_id)
        if rec is None:
            raise RuleNotFound(f"Rule {rule_id} does not exist in policy {policy}")
        return rec

    # ================================================================== data
    def _check_width(self, ds: str, table: str, rows: Collection[Row]) -> None:
        pol = self.policies.get(ds)
        width = None
        if pol is not None and pol.schema is not None and table in pol.schema \
                and pol.schema[table]:
            width = len(pol.schema[table])
        else:
            width = self._arity_of(ds, table)
        if width is None and rows:
            width = len(next(iter(rows)))
        if width is not None and steps.noted_width(rows) == width:
            return          # checked as the set was built (congress.bus.service)
        # in steps: one C call over 300k rows (a set's, read in hash order: all over memory)
        # holds the interpreter ~60 ms, during which no API request runs
        wrong, it = width.__ne__, iter(rows)
        for _ in range(0, len(rows), _CHECK_STEP):
            if any(map(wrong, map(len, itertools.islice(it, _CHECK_STEP)))):
                break
        else:
            return
        for r in rows:
            if len(r) != width:
                raise SchemaError(f"Row {list(r)} of table {ds}:{table} has {len(r)} values "
                                  f"but the table has {width} columns", code="arity_mismatch")

    def replace_table(self, datasource: str, table: str, rows: Iterable[Iterable[Any]],
                      normalize: bool = True) -> Update:
        """Replace all rows of a datasource table (a snapshot).

        ``normalize`` False: the values are normalized already; a set or frozenset of tuples
        (the bus's) is then taken as it is, not copied into a list and back into a set.
        """
        rows = _rows_of(rows, normalize)
        self._check_width(datasource, table, rows)
        update = self._to_update(self.program.replace_facts((datasource, table), rows))
        self.revision += 1
        self._notify(update)
        return update

    def apply_delta(self, datasource: str, table: str, added: Iterable[Iterable[Any]] = (),
                    removed: Iterable[Iterable[Any]] = (), normalize: bool = True) -> Update:
        added = _rows_of(added, normalize)
        removed = _rows_of(removed, normalize)
        self._check_width(datasource, table, added)
        key = (datasource, table)
        update = self._to_update(self.program.update_facts(adds={key: added},
                                                           dels={key: removed}))
        self.revision += 1
        self._notify(update)
        return update

    # ================================================================== reading
    def tablenames(self, policy: str) -> list[str]:
        """Tables a policy's statements mention (heads and bodies, other policies as svc:t)."""
        pol = self.get_policy(policy)
        cached = self._tables_cache.get(policy)
        if cached is not None and cached[0] is pol:
            return cached[1]
        names: set[str] = set()
        if pol.schema is not None:
            names.update(pol.schema)
        for rec in pol.rules.values():
            for lit in analysis.statement_literals(rec.prepared):
                if lit.modal is not None or builtin_of(lit) is not None:
                    continue
                if lit.service and lit.service != policy:
                    names.add(f"{lit.service}:{lit.table}")
                else:
                    names.add(lit.table)
        result = sorted(names)
        self._tables_cache[policy] = (pol, result, frozenset(result))
        return result

    def has_table(self, policy: str, table: str) -> bool:
        self.tablenames(policy)
        return table in self._tables_cache[policy][2]

    def arity_of(self, policy: str, table: str) -> int | None:
        pol = self.policies.get(policy)
        if pol is not None and pol.schema is not None and pol.schema.get(table):
            return len(pol.schema[table])
        if ":" in table:
            svc, t = table.split(":", 1)
            return self.arity_of(svc, t)
        return self._arity_of(policy, table)

    def select(self, policy: str, table: str, constraints: dict[int, Any] | None = None,
               check_table: bool = True) -> list[Row]:
        """Rows of ``policy``'s table (``svc:t`` reads another policy's table)."""
        self.get_policy(policy)
        if check_table and not self.has_table(policy, table):
            raise TableNotFound(f"table '{table}' doesn't exist")
        if ":" in table:
            svc, t = table.split(":", 1)
            key = (svc, t)
        else:
            key = (policy, table)
        rows = self.program.rows(key)
        if not constraints:
            return list(rows)
        cols = tuple(sorted(constraints))
        rel = self.program.relations.get(key)
        if rel is None:
            return []
        idx = rel.index(cols)
        k = constraints[cols[0]] if len(cols) == 1 else tuple(constraints[c] for c in cols)
        return list(idx.get(k, ()))

    def query(self, policy: str, query: str | Literal) -> list[str]:
        """Instances of an atom that hold, as Datalog strings (``p(1, "a")``)."""
        lit = parse_atom(query) if isinstance(query, str) else query
        rows = self.query_rows(policy, lit)
        return [str(lit.with_args(Constant.of(v) for v in row)) for row in rows]

    def query_rows(self, policy: str, lit: Literal) -> list[Row]:
        self.get_policy(policy)
        (lit,), _ = self.eliminate_query(policy, lit)
        b = builtin_of(lit)
        if b is not None:
            return self._query_builtin(lit, b)
        key = self.rel_key(lit, policy)
        constraints = {i: a.value for i, a in enumerate(lit.args) if not a.is_variable}
        rel = self.program.relations.get(key)
        if rel is None:
            return []
        if constraints:
            cols = tuple(sorted(constraints))
            k = constraints[cols[0]] if len(cols) == 1 else tuple(constraints[c] for c in cols)
            candidates = rel.index(cols).get(k, ())
        else:
            candidates = rel.rows
        out = []
        positions: dict[str, int] = {}
        for i, a in enumerate(lit.args):
            if a.is_variable:
                positions.setdefault(a.name, i)
        repeats = [(i, positions[a.name]) for i, a in enumerate(lit.args)
                   if a.is_variable and positions[a.name] != i]
        for row in candidates:
            if len(row) != len(lit.args):
                continue
            if all(row[i] == row[j] for i, j in repeats):
                out.append(row)
        if lit.negated:
            raise PolicyError(f"Cannot query a negated literal {lit}")
        return out

    @staticmethod
    def _query_builtin(lit: Literal, b: Any) -> list[Row]:
        inputs = lit.args[:b.num_inputs]
        if any(a.is_variable for a in inputs):
            raise PolicyError(f"Query {lit}: inputs of builtin {b.name} must be constants")
        out = b.evaluate(tuple(a.value for a in inputs))
        if out is None:
            return []
        from congress.datalog.evaluation.topdown import unify_row
        binding = unify_row(lit.args[b.num_inputs:], out, {})
        if binding is None:
            return []
        return [tuple(a.value for a in inputs) + tuple(out)]

    def eliminate_query(self, policy: str, lit: Literal) -> tuple[tuple[Literal], frozenset]:
        """``lit`` with its named columns turned into positional arguments of ``policy``.

        Returns the rewritten literal (a one-element tuple, as the rule rewriting produces) and
        the names of the padding variables it introduced for columns the query leaves open.
        Queries, traces, explanations and simulations all rewrite their atom this way before
        looking at the materialized relations.
        """
        new, pads = analysis.eliminate_columns(lit, policy, self._view, "x_q_")
        return (new,), frozenset(pads)

    # ================================================================== actions
    def action_rows(self) -> list[Action]:
        out = []
        for key, (policy, svc, act) in self.action_tables.items():
            for row in self.program.rows(key):
                out.append(Action(policy, svc, act, row))
        return out

