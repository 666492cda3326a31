"""Library policies (congress.db.library)."""

from __future__ import annotations

import pytest

from congress import exceptions
from congress.db import library

RULES = [{"rule": "p(x) :- q(x)", "name": "r1", "comment": "first"}, {"rule": "q(1)"}]


def test_is_empty_create_get(db):
    assert library.is_empty(db)
    lp = library.create_library_policy(db, {"name": "security_groups", "rules": RULES})
    assert not library.is_empty(db)
    assert lp == {"id": lp["id"], "name": "security_groups", "abbreviation": "secur",
                  "description": "", "kind": "nonrecursive", "rules": RULES}
    assert library.get_library_policy(db, lp["id"]) == lp
    assert library.get_library_policy_by_name(db, "security_groups") == lp
    no_rules = library.get_library_policy(db, lp["id"], include_rules=False)
    assert "rules" not in no_rules and no_rules["name"] == "security_groups"


def test_explicit_fields(db):
    lp = library.create_library_policy(
        db, {"name": "n", "abbreviation": "ab", "description": "d", "kind": "action",
             "rules": []}, policy_id="lib-1")
    assert lp == {"id": "lib-1", "name": "n", "abbreviation": "ab", "description": "d",
                  "kind": "action", "rules": []}


def test_duplicate_name(db):
    library.create_library_policy(db, {"name": "dup", "rules": []})
    with pytest.raises(exceptions.Conflict, match="dup") as err:
        library.create_library_policy(db, {"name": "dup", "rules": RULES})
    assert err.value.http_status == 409


def test_list_and_name_filter(db):
    for n in ("b", "a", "c"):
        library.create_library_policy(db, {"name": n, "rules": RULES})
    assert [p["name"] for p in library.list_library_policies(db)] == ["a", "b", "c"]
    only = library.list_library_policies(db, name="b", include_rules=False)
    assert len(only) == 1 and only[0]["name"] == "b" and "rules" not in only[0]
    assert library.list_library_policies(db, name="zz") == []


def test_unknown(db):
    with pytest.raises(exceptions.NotFound, match="No policy found with policy id x") as err:
        library.get_library_policy(db, "x")
    assert err.value.http_status == 404
    with pytest.raises(exceptions.NotFound):
        library.get_library_policy_by_name(db, "x")
    with pytest.raises(exceptions.NotFound, match="No policy found with policy id x"):
        library.delete_library_policy(db, "x")
    with pytest.raises(exceptions.NotFound):
        library.replace_library_policy(db, "x", {"name": "n", "rules": []})


def test_delete(db):
    lp = library.create_library_policy(db, {"name": "n", "rules": RULES})
    assert library.delete_library_policy(db, lp["id"]) == lp
    assert library.is_empty(db)


def test_replace(db):
    lp = library.create_library_policy(db, {"name": "n", "rules": RULES})
    other = library.create_library_policy(db, {"name": "other", "rules": []})
    new = library.replace_library_policy(db, lp["id"], {"name": "renamed", "rules": []})
    assert new["id"] == lp["id"] and new["name"] == "renamed" and new["rules"] == []
    assert library.get_library_policy(db, lp["id"]) == new
    # keeping its own name is fine; taking another's is not
    library.replace_library_policy(db, lp["id"], {"name": "renamed", "rules": RULES})
    with pytest.raises(exceptions.Conflict):
        library.replace_library_policy(db, lp["id"], {"name": other["name"], "rules": []})


def test_delete_all(db):
    for n in ("a", "b"):
        library.create_library_policy(db, {"name": n, "rules": []})
    assert library.delete_all_library_policies(db) == 2
    assert library.is_empty(db)


@pytest.mark.parametrize("body", [{"rules": []}, {"name": "", "rules": []},
                                  {"name": "x" * 256, "rules": []},
                                  {"name": "n", "abbreviation": "toolong", "rules": []},
                                  {"name": "n", "rules": "p(1)"}])
def test_invalid_bodies(db, body):
    with pytest.raises(exceptions.BadRequest):
        library.create_library_policy(db, body)
