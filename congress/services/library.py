"""The library service (``__library``): policies kept in the DB for operators to instantiate.

Library policies are not active in any engine until ``POST /v1/policies?library_policy=<id>``
copies one into a real policy. At start, if the library table is empty, every ``*.yaml``/``*.yml``
file under ``policy_library_path`` (recursively, multi-document) is loaded; documents that fail
validation are logged and skipped, duplicates (another node loaded them first) ignored.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import yaml

from congress import exceptions
from congress.bus import Service
from congress.bus.service_ids import LIBRARY
from congress.datalog.parser import parse_statements
from congress.db import library as db_library
from congress.policy import kinds

LOG = logging.getLogger(__name__)



def validate_library_policy(body: Any) -> dict[str, Any]:
    """The v1 API's JSON schema for policy bodies plus a syntax check of each rule."""
    if not isinstance(body, dict):
        raise exceptions.BadRequest("Input policy item violates schema.",
                                    data="policy must be an object")
    errors = []
    allowed = {"id", "name", "description", "kind", "abbreviation", "rules"}
    for key in body:
        if key not in allowed:
            errors.append(f"Additional property {key!r} is not allowed")
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 255:
        errors.append("'name' is required: a string of 1 to 255 characters")
    for key in ("description", "kind", "abbreviation"):
        if key in body and body[key] is not None and not isinstance(body[key], str):
            errors.append(f"'{key}' must be a string")
    if isinstance(body.get("kind"), str) and body["kind"] not in kinds.ALL:
        errors.append(f"'kind' must be one of {', '.join(kinds.ALL)}")
    abbr = body.get("abbreviation")
    if isinstance(abbr, str) and not 1 <= len(abbr) <= 5:
        errors.append("'abbreviation' must have 1 to 5 characters")
    rules = body.get("rules")
    if not isinstance(rules, list):
        errors.append("'rules' is required: a list of {\"rule\": ...}")
    else:
        for i, r in enumerate(rules):
            if not isinstance(r, dict) or not isinstance(r.get("rule"), str):
                errors.append(f"rules[{i}] must be an object with a string 'rule'")
                continue
            for key in r:
                if key not in ("rule", "name", "comment"):
                    errors.append(f"rules[{i}]: additional property {key!r} is not allowed")
            for key in ("name", "comment"):
                if r.get(key) is not None and (not isinstance(r[key], str) or len(r[key]) > 255):
                    errors.append(f"rules[{i}].{key} must be a string of at most 255 characters")
    if errors:
        raise exceptions.BadRequest("Input policy item violates schema.",
                                    data="; ".join(errors))
    if not kinds.valid_policy_name(name):
        raise exceptions.BadRequest(f"name `{name}` is not a valid policy name")
    for i, r in enumerate(rules):
        try:
            parse_statements(r["rule"])
        except exceptions.PolicyError as e:
            raise exceptions.BadRequest(f"rules[{i}] does not parse: {e.message}") from e
    out = {"name": name, "description": body.get("description") or "",
           "kind": body.get("kind") or kinds.NONRECURSIVE,
           "abbreviation": body.get("abbreviation") or name[:5],
           "rules": [{k: r[k] for k in ("rule", "name", "comment") if r.get(k) is not None}
                     for r in rules]}
    return out


class LibraryService(Service):
    rpc_methods = frozenset({"list", "get", "create", "delete", "replace"})

    def __init__(self, db: Any, conf: Any) -> None:
        super().__init__(LIBRARY)
        self.db = db
        self.conf = conf

    def start(self) -> None:
        path = self.conf.policy_library_path
        try:
            if path and os.path.isdir(path) and db_library.is_empty(self.db):
                self.load_directory(path)
        except Exception:
            LOG.exception("loading the policy library from %s failed", path)

    def load_directory(self, path: str) -> int:
        loaded = 0
        for root, _, files in sorted(os.walk(path)):
            for fname in sorted(files):
                if not fname.endswith((".yaml", ".yml")):
                    continue
                full = os.path.join(root, fname)
                try:
                    with open(full, encoding="utf-8") as f:
                        docs = [d for d in yaml.safe_load_all(f) if d]
                except (OSError, yaml.YAMLError) as e:
                    LOG.error("library file %s unreadable: %s", full, e)
                    continue
                for doc in docs:
                    try:
                        self.create(doc)
                        loaded += 1
                    except exceptions.Conflict:
                        LOG.debug("library policy from %s already present", full)
                    except exceptions.CongressError as e:
                        LOG.error("library policy in %s rejected: %s %s", full, e,
                                  e.data or "")
        LOG.info("loaded %d library policies from %s", loaded, path)
        return loaded

    def list(self, include_rules: bool = True, name: str | None = None) -> list[dict[str, Any]]:
        return db_library.list_library_policies(self.db, include_rules=include_rules, name=name)

    def get(self, id: str, include_rules: bool = True) -> dict[str, Any]:
        return db_library.get_library_policy(self.db, id, include_rules=include_rules)

    def create(self, body: Any) -> dict[str, Any]:
        policy = validate_library_policy(body)
        return db_library.create_library_policy(self.db, policy)

    def delete(self, id: str) -> dict[str, Any]:
        return db_library.delete_library_policy(self.db, id)

    def replace(self, id: str, body: Any) -> dict[str, Any]:
        policy = validate_library_policy(body)
        return db_library.replace_library_policy(self.db, id, policy)
