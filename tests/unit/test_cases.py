"""Runs every semantics case of tests/cases/*.yaml on a fresh Runtime (format: README there)."""

from __future__ import annotations

import glob
import os
from collections import Counter
from typing import Any

import pytest
import yaml

from congress.exceptions import CongressError
from congress.policy import kinds
from congress.policy.runtime import Runtime
from congress.policy.simulation import simulate

CASES_DIR = os.path.join(os.path.dirname(__file__), "..", "cases")
STEP_KEYS = {"insert", "delete", "select", "query", "data", "delta", "simulate", "actions",
             "create_policy", "delete_policy"}


def _load() -> list[Any]:
    params = []
    for path in sorted(glob.glob(os.path.join(CASES_DIR, "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f) or {}
        base = os.path.basename(path)[:-5]
        for case in doc.get("cases", []):
            params.append(pytest.param(case, id=f"{base}::{case['name']}"))
    return params


def _runtime(case: dict) -> Runtime:
    rt = Runtime()
    for name, kind, desc in kinds.DEFAULT_POLICIES:
        rt.create_policy(name, kind, description=desc)
    for name, kind in (case.get("policies") or {}).items():
        rt.create_policy(name, kind)
    for name, schema in (case.get("datasources") or {}).items():
        rt.create_datasource_policy(name, schema)
    return rt


def _typed(v: Any) -> tuple:
    """Values compare with their type: 1, 1.0 and "1" differ."""
    if isinstance(v, (list, tuple)):
        return ("row", tuple(_typed(x) for x in v))
    return (type(v).__name__, v)


def _run_step(rt: Runtime, step: dict) -> Any:
    action = [k for k in step if k in STEP_KEYS]
    assert len(action) == 1, f"step must have exactly one action key: {step}"
    action = action[0]
    args = step[action] or {}
    if action == "insert":
        rt.insert(args["policy"], args["rules"])
        return None
    if action == "delete":
        rt.delete(args["policy"], args["rules"])
        return None
    if action == "select":
        return [list(r) for r in rt.select(args["policy"], args["table"])]
    if action == "query":
        return rt.query(args["policy"], args["query"])
    if action == "data":
        rt.replace_table(args["datasource"], args["table"], args.get("rows") or [])
        return None
    if action == "delta":
        rt.apply_delta(args["datasource"], args["table"], args.get("add") or [],
                       args.get("remove") or [])
        return None
    if action == "simulate":
        result, _ = simulate(rt, args["policy"], args["query"], args.get("sequence", ""),
                             args.get("action_policy", "action"),
                             delta=bool(args.get("delta", False)),
                             trace=bool(args.get("trace", False)))
        return result
    if action == "actions":
        return [[a.policy, f"{a.service}:{a.action}", list(a.args)] for a in rt.action_rows()]
    if action == "create_policy":
        rt.create_policy(args["name"], args.get("kind") or "nonrecursive",
                         abbreviation=args.get("abbreviation"),
                         description=args.get("description") or "")
        return None
    if action == "delete_policy":
        rt.delete_policy(args["name"])
        return None
    raise AssertionError(action)


@pytest.mark.parametrize("case", _load())
def test_case(case: dict) -> None:
    rt = _runtime(case)
    for i, step in enumerate(case["steps"]):
        where = f"step {i + 1}: {step}"
        expected_error = step.get("error")
        if expected_error:
            with pytest.raises(CongressError) as info:
                _run_step(rt, step)
            err = info.value
            assert err.code == expected_error["code"], f"{where}: got {err.code}: {err}"
            if "contains" in expected_error:
                assert expected_error["contains"] in err.message, f"{where}: message {err}"
            if "line" in expected_error or "column" in expected_error:
                assert err.position is not None, f"{where}: no position in {err}"
                if "line" in expected_error:
                    assert err.position[0] == expected_error["line"], f"{where}: {err.position}"
                if "column" in expected_error:
                    assert err.position[1] == expected_error["column"], f"{where}: {err.position}"
            continue
        result = _run_step(rt, step)
        if "want" in step:
            want = step["want"]
            if isinstance(want, list) and isinstance(result, list):
                assert Counter(_typed(x) for x in result) == Counter(_typed(x) for x in want), \
                    f"{where}: got {result}"
            else:
                assert result == want, f"{where}: got {result}"


def test_cases_exist() -> None:
    assert len(_load()) >= 100
