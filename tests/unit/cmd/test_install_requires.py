"""``pip install .`` with no extras must give working console scripts: everything the
``congress`` package imports comes from ``install_requires`` (or what those require), and the
console scripts' entry points load and print their help."""

from __future__ import annotations

import ast
import importlib.metadata as md
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _install_requires() -> list[str]:
    """The ``install_requires`` list of setup.py, read without running it."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "install_requires":
            return [ast.literal_eval(e) for e in node.value.elts]
    raise AssertionError("setup.py has no install_requires")


def _req_name(req: str) -> str:
    return _norm(re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0])


def _closure(names: set[str]) -> set[str]:
    """The distributions ``names`` need, transitively (without extras), as installed here."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        for req in reqs:
            if "extra ==" in req:
                continue
            todo.append(_req_name(req))
    return seen


def _third_party_imports() -> dict[str, str]:
    """Top-level modules imported anywhere in congress/ that are not the stdlib → a file."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "congress").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "congress":
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_server_dependencies_are_not_in_an_extra():
    required = {_req_name(r) for r in _install_requires()}
    for name in ("oslo-config", "oslo-messaging", "sqlalchemy", "alembic", "falcon", "waitress"):
        assert name in required, f"{name} must be in install_requires"


def test_every_import_is_installed_by_install_requires():
    closure = _closure({_req_name(r) for r in _install_requires()})
    providers = md.packages_distributions()
    missing = []
    for module, where in _third_party_imports().items():
        dists = {_norm(d) for d in providers.get(module, [])}
        assert dists, f"{module} (imported in {where}) is not installed at all"
        if not dists & closure:
            missing.append(f"{module} ({where}) from {sorted(dists)}")
    assert not missing, "imported but not required by install_requires: " + ", ".join(missing)


@pytest.mark.parametrize("script", ["congress-server", "congress-db-manage"])
def test_console_script_entry_point_runs(script):
    eps = [ep for ep in md.entry_points(group="console_scripts") if ep.name == script]
    assert eps, f"{script} is not an installed console script"
    code = (f"import sys, importlib.metadata as md\n"
            f"ep = [e for e in md.entry_points(group='console_scripts')\n"
            f"      if e.name == {script!r}][0]\n"
            f"sys.argv = [{script!r}, '--help']\n"
            f"sys.exit(ep.load()())\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"usage: {script}" in proc.stdout
