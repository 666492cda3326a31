"""Policy kinds: the one list of them, and what each accepts.

``nonrecursive`` (the default) and ``materialized`` policies are evaluated continuously;
``action`` policies describe actions for simulation; ``database`` policies hold facts only;
``datasource`` policies hold a datasource's tables. ``z3`` and ``delta`` are names the OpenStack
Congress API knew: requests naming them are well formed, and creation refuses them clearly.
"""

from __future__ import annotations

import re

NONRECURSIVE = "nonrecursive"
ACTION = "action"
DATABASE = "database"
MATERIALIZED = "materialized"
DATASOURCE = "datasource"
Z3 = "z3"
DELTA = "delta"

#: every kind name the API accepts in a request body (in the order of the v1 JSON schema)
ALL = (DATABASE, NONRECURSIVE, ACTION, Z3, MATERIALIZED, DELTA, DATASOURCE)

#: kinds a user may create (datasource policies normally come with a datasource)
CREATABLE = (NONRECURSIVE, ACTION, DATABASE, MATERIALIZED, DATASOURCE)
#: kinds whose rules the engine evaluates continuously
EVALUATED = (NONRECURSIVE, MATERIALIZED)
#: kinds whose tables may be recursive (an extension: OpenStack Congress rejected recursion)
RECURSIVE_OK = (MATERIALIZED,)

DEFAULT_POLICIES = (
    # name, kind, description
    ("classification", NONRECURSIVE, "default policy"),
    ("action", ACTION, "default action policy"),
)

_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")
#: the grammar's reserved words (``not``, ``execute`` ...) cannot prefix a table in a rule
_RESERVED = frozenset({"not", "NOT", "execute", "insert", "delete"})


def valid_policy_name(name: object) -> bool:
    """Usable as a ``name:table`` prefix in rules, and not ``builtin``."""
    return isinstance(name, str) and bool(_NAME.match(name)) and name != "builtin" \
        and name not in _RESERVED
