"""Policies, rules and the revision log (congress.db.policies)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from congress import exceptions
from congress.db import policies, schema


def test_create_policy_defaults(db):
    p = policies.create_policy(db, "classification")
    assert set(p) == {"id", "name", "abbreviation", "description", "owner_id", "kind"}
    assert p["name"] == "classification"
    assert p["abbreviation"] == "class"
    assert p["description"] == ""
    assert p["owner_id"] == "user"
    assert p["kind"] == "nonrecursive"
    assert len(p["id"]) == 36
    assert policies.get_policy(db, p["id"]) == p
    assert policies.get_policy(db, "classification") == p


def test_create_policy_explicit_fields(db):
    p = policies.create_policy(db, "act", abbreviation="a", description="default action policy",
                               owner="admin", kind="action", policy_id="pid-1")
    assert p == {"id": "pid-1", "name": "act", "abbreviation": "a",
                 "description": "default action policy", "owner_id": "admin", "kind": "action"}
    assert policies.get_policy(db, "pid-1") == p


def test_duplicate_policy_name_conflicts(db):
    policies.create_policy(db, "dup")
    with pytest.raises(exceptions.PolicyExists, match="dup") as err:
        policies.create_policy(db, "dup")
    assert err.value.http_status == 409
    assert isinstance(err.value, exceptions.PolicyExists)


def test_duplicate_policy_id_conflicts(db):
    policies.create_policy(db, "one", policy_id="same")
    with pytest.raises(exceptions.Conflict, match="same"):
        policies.create_policy(db, "two", policy_id="same")


def test_policy_names_are_case_sensitive(db):
    policies.create_policy(db, "Alpha")
    policies.create_policy(db, "alpha")
    assert policies.get_policy(db, "alpha")["name"] == "alpha"
    assert policies.get_policy(db, "Alpha")["name"] == "Alpha"


@pytest.mark.parametrize("name", ["", None, "x" * 256, 5])
def test_invalid_policy_names(db, name):
    with pytest.raises(exceptions.InvalidPolicyName):
        policies.create_policy(db, name)


def test_abbreviation_too_long(db):
    with pytest.raises(exceptions.BadRequest) as err:
        policies.create_policy(db, "p", abbreviation="toolong")
    assert err.value.code == "policy_abbreviation_error"


def test_unicode_policy_fields(db):
    p = policies.create_policy(db, "pölicy_ü", description="emoji \U0001F600 ok")
    assert policies.get_policy(db, "pölicy_ü")["description"] == "emoji \U0001F600 ok"
    assert p["abbreviation"] == "pölic"


def test_get_unknown_policy(db):
    with pytest.raises(exceptions.PolicyNotFound, match="No policy found with name or id nope"):
        policies.get_policy(db, "nope")
    assert policies.find_policy(db, "nope") is None


def test_list_policies_in_creation_order(db):
    names = ["zeta", "alpha", "mid"]
    for n in names:
        policies.create_policy(db, n)
    assert [p["name"] for p in policies.list_policies(db)] == names


def test_delete_policy_moves_row_and_soft_deletes_rules(db):
    p = policies.create_policy(db, "gone")
    keep = policies.create_policy(db, "kept")
    r1 = policies.insert_rule(db, "gone", "p(x) :- q(x)")
    policies.insert_rule(db, "gone", "q(1)")
    r3 = policies.insert_rule(db, "kept", "s(1)")

    deleted = policies.delete_policy(db, "gone")
    assert deleted == p
    assert policies.find_policy(db, "gone") is None
    assert policies.list_rules(db, "gone") == []
    assert [r["id"] for r in policies.list_rules(db)] == [r3["id"]]
    assert policies.get_policy(db, "kept") == keep

    with db.transaction() as conn:
        moved = conn.execute(sa.select(schema.policiesdeleted)).all()
        assert len(moved) == 1
        assert moved[0].id == p["id"] and moved[0].deleted == p["id"]
        assert moved[0].deleted_at is not None
        assert conn.execute(sa.select(schema.policies.c.id)
                            .where(schema.policies.c.id == p["id"])).first() is None
        rule_rows = conn.execute(sa.select(schema.policy_rules)
                                 .where(schema.policy_rules.c.policy_name == "gone")).all()
        assert len(rule_rows) == 2
        assert all(r.deleted == r.id and r.deleted_at is not None for r in rule_rows)
    with pytest.raises(exceptions.RuleNotFound):
        policies.get_rule(db, r1["id"])


def test_delete_policy_by_id_then_reuse_name(db):
    p = policies.create_policy(db, "again")
    policies.delete_policy(db, p["id"])
    p2 = policies.create_policy(db, "again")
    assert p2["id"] != p["id"]
    policies.delete_policy(db, "again")
    with db.transaction() as conn:
        assert conn.execute(sa.select(sa.func.count())
                            .select_from(schema.policiesdeleted)).scalar() == 2


def test_delete_unknown_policy(db):
    with pytest.raises(exceptions.PolicyNotFound):
        policies.delete_policy(db, "nope")


def test_insert_and_get_rule(db):
    p = policies.create_policy(db, "p1")
    r = policies.insert_rule(db, "p1", "error(x) :- nova:servers(id=x)", comment="a comment",
                             name="rule-1")
    assert r["rule"] == "error(x) :- nova:servers(id=x)"
    assert r["comment"] == "a comment"
    assert r["name"] == "rule-1"
    assert r["policy_name"] == "p1"
    assert policies.get_rule(db, r["id"]) == r
    assert policies.get_rule(db, r["id"], "p1") == r
    assert policies.get_rule(db, r["id"], p["id"]) == r
    with pytest.raises(exceptions.RuleNotFound):
        policies.get_rule(db, r["id"], "other")


def test_insert_rule_by_policy_id_and_defaults(db):
    p = policies.create_policy(db, "p2")
    r = policies.insert_rule(db, p["id"], "q(1)", comment=None, rule_id="rid")
    assert r == {"id": "rid", "name": None, "comment": "", "rule": "q(1)", "policy_name": "p2"}
    with pytest.raises(exceptions.Conflict):
        policies.insert_rule(db, "p2", "q(2)", rule_id="rid")


def test_insert_rule_unknown_policy(db):
    with pytest.raises(exceptions.PolicyNotFound) as err:
        policies.insert_rule(db, "nope", "q(1)")
    assert err.value.api_name == "policy_not_exist"


@pytest.mark.parametrize("kwargs", [{"rule": ""}, {"rule": "q(1)", "comment": "c" * 256},
                                    {"rule": "q(1)", "name": "n" * 256}])
def test_insert_rule_rejects_bad_fields(db, kwargs):
    policies.create_policy(db, "p")
    with pytest.raises(exceptions.BadRequest):
        policies.insert_rule(db, "p", **kwargs)


def test_list_rules_in_insertion_order(db):
    policies.create_policy(db, "a")
    policies.create_policy(db, "b")
    texts = [f"p({i})" for i in range(10)]
    for t in texts:
        policies.insert_rule(db, "a", t)
    policies.insert_rule(db, "b", "other(1)")
    assert [r["rule"] for r in policies.list_rules(db, "a")] == texts
    assert len(policies.list_rules(db)) == 11
    assert policies.list_rules(db, "unknown") == []


def test_delete_rule(db):
    policies.create_policy(db, "p")
    r = policies.insert_rule(db, "p", "q(1)")
    assert policies.delete_rule(db, r["id"], "p") == r
    assert policies.list_rules(db, "p") == []
    with pytest.raises(exceptions.RuleNotFound):
        policies.delete_rule(db, r["id"])
    with pytest.raises(exceptions.RuleNotFound):
        policies.get_rule(db, r["id"])


def test_delete_rule_in_wrong_policy(db):
    policies.create_policy(db, "p")
    policies.create_policy(db, "other")
    r = policies.insert_rule(db, "p", "q(1)")
    with pytest.raises(exceptions.RuleNotFound):
        policies.delete_rule(db, r["id"], "other")
    assert policies.get_rule(db, r["id"]) == r


def test_every_change_bumps_the_revision(db):
    assert policies.current_revision(db) == 0
    p = policies.create_policy(db, "p")
    r = policies.insert_rule(db, "p", "q(1)")
    policies.delete_rule(db, r["id"])
    policies.delete_policy(db, "p")
    assert policies.current_revision(db) == 4
    changes = policies.changes_since(db, 0)
    assert [(c["revision"], c["op"], c["policy_name"], c["object_id"]) for c in changes] == [
        (1, "create_policy", "p", p["id"]),
        (2, "insert_rule", "p", r["id"]),
        (3, "delete_rule", "p", r["id"]),
        (4, "delete_policy", "p", p["id"]),
    ]
    assert all(c["created_at"].endswith("Z") for c in changes)
    assert [c["revision"] for c in policies.changes_since(db, 2)] == [3, 4]
    assert [c["revision"] for c in policies.changes_since(db, 0, limit=2)] == [1, 2]
    assert policies.changes_since(db, 4) == []


def test_revision_of_own_change_visible_in_transaction(db):
    with db.transaction() as conn:
        policies.create_policy(conn, "p")
        assert policies.current_revision(conn) == 1
        policies.insert_rule(conn, "p", "q(1)")
        policies.insert_rule(conn, "p", "q(2)")
        assert policies.current_revision(conn) == 3
    assert len(policies.changes_since(db, 0)) == 3


def test_rolled_back_transaction_leaves_no_revision(db):
    policies.create_policy(db, "p")
    with pytest.raises(RuntimeError), db.transaction() as conn:
        policies.insert_rule(conn, "p", "q(1)")
        assert policies.current_revision(conn) == 2
        raise RuntimeError("abort")
    assert policies.current_revision(db) == 1
    assert policies.list_rules(db, "p") == []
    assert policies.changes_since(db, 1) == []
    policies.insert_rule(db, "p", "q(2)")
    assert [c["revision"] for c in policies.changes_since(db, 0)] == [1, 2]


def test_failed_change_in_transaction_rolls_back_everything(db):
    policies.create_policy(db, "p")
    with pytest.raises(exceptions.PolicyExists), db.transaction() as conn:
        policies.create_policy(conn, "q")
        policies.create_policy(conn, "p")
    assert policies.find_policy(db, "q") is None
    assert policies.current_revision(db) == 1


def test_bump_revision_directly(db):
    assert policies.bump_revision(db, "x", "insert_rule", "obj") == 1
    assert policies.bump_revision(db, "x", "delete_rule") == 2
    assert policies.changes_since(db, 1)[0]["object_id"] is None
    with pytest.raises(ValueError):
        policies.bump_revision(db, "x", "bogus")


def test_bump_revision_recreates_missing_counter_row(db):
    policies.bump_revision(db, "x", "insert_rule")
    with db.transaction() as conn:
        conn.execute(schema.policy_revision.delete())
    assert policies.current_revision(db) == 0
    assert policies.bump_revision(db, "x", "insert_rule") == 2
    assert policies.current_revision(db) == 2


def test_prune_changes(db):
    for i in range(5):
        policies.bump_revision(db, f"p{i}", "create_policy")
    assert policies.prune_changes(db, 4) == 3
    changes = policies.changes_since(db, 0)
    assert [c["revision"] for c in changes] == [4, 5]  # first != 1: caller must reload
    assert policies.current_revision(db) == 5
