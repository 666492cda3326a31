"""The documentation stands on its own: every document a comment, test or doc cites is in this
repository, and every section it points at exists.

Citations checked, in ``congress/``, ``tests/``, ``doc/``, ``scripts/``, ``benchmarks/`` and
``README.md``:

* none may point outside the repository (design notes or specifications kept elsewhere);
* ``doc/<name>.md`` must exist, ``doc/<name>.md#<anchor>`` must name a heading of it (GitHub's
  anchor of the heading), ``doc/<name>.md §<Heading>`` must start with a heading's text, and
  ``doc/<name>.md §<N>`` must name a heading numbered ``N.``;
* relative Markdown links in ``doc/*.md`` and ``README.md`` (``[x](api.md#errors)``,
  ``[x](#try-it)``) must resolve the same way;
* a path of this repository (``congress/api/app.py``, ``tests/cases/README.md`` ...) must exist,
  so that comments do not point at files that were moved or split;
* a Sphinx cross-reference in a docstring (``:mod:`congress.datasources.declare```,
  ``:class:`~congress.exceptions.CongressError```) must name something that exists.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterator

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
THIS = os.path.abspath(__file__)

#: citations of documents that are not part of this repository (assembled so that this file does
#: not match itself)
OUTSIDE = re.compile("|".join([
    r"\.\./" + "shared",
    r"/work/" + "shared",
    r"\bspec/[a-z-]+\." + "md",
    r"\bDESIGN\." + "md",
    r"\bspec (?:§|section )?\d",
    r"\bspec §",
    r"\bspec api\b",
]))

#: files another change is rewriting right now (they are split into smaller modules, and their
#: comments fixed on the way); remove an entry as soon as its file is clean
PENDING: set[str] = set()

DOC_REF = re.compile(r"\bdoc/([A-Za-z0-9_-]+\.md)(#[A-Za-z0-9_-]+)?(?:,? §([^,;:)\n`\"']+))?")
REPO_PATH = re.compile(r"(?<![\w/.~-])((?:congress|tests|doc|docs|scripts|benchmarks|etc)/"
                       r"[\w./-]*\w\.(?:py|md|yaml|sh|toml|ini|sample))\b")
MD_LINK = re.compile(r"\]\((?!https?:|mailto:)([A-Za-z0-9_./-]*?\.md)?(#[A-Za-z0-9_-]+)?\)")
XREF = re.compile(r":(?:mod|class|func|meth|data|attr|exc):`~?(congress(?:\.\w+)+)`")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def _files() -> Iterator[str]:
    yield os.path.join(ROOT, "README.md")
    for top, exts in (("congress", (".py", ".md", ".yaml", ".ini", ".txt")),
                      ("tests", (".py", ".md", ".yaml")),
                      ("doc", (".md",)),
                      ("scripts", (".sh", ".py")),
                      ("benchmarks", (".py", ".md"))):
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, top)):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                if name.endswith(exts) and os.path.abspath(path) != THIS:
                    yield path


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def _rel(path: str) -> str:
    return os.path.relpath(path, ROOT)


def headings(md_path: str) -> list[str]:
    """The headings of a Markdown file (outside code fences), as written."""
    return HEADING.findall(FENCE.sub("", _read(md_path)))


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def section_exists(titles: list[str], section: str) -> bool:
    """``§4`` names a heading ``4. ...``; ``§Policies`` a heading the text starts with."""
    section = section.strip().rstrip(".").strip()
    number = re.match(r"(\d+(?:\.\d+)*)(?:$|[\s.(])", section)
    if number:
        num = number.group(1)
        return any(t.startswith(num + ".") or t.startswith(num + " ") for t in titles)
    low = section.lower()
    for title in titles:
        t = title.lower()
        if low == t or (low.startswith(t) and low[len(t)] in " .("):
            return True
    return False


def _problems_in(path: str) -> Iterator[str]:
    text = _read(path)
    where = _rel(path)
    for n, line in enumerate(text.splitlines(), 1):
        m = OUTSIDE.search(line)
        if m:
            yield f"{where}:{n}: cites a document outside the repository: {m.group(0)!r}"
        for m in DOC_REF.finditer(line):
            yield from _check_target(where, n, os.path.join(ROOT, "doc", m.group(1)),
                                     m.group(2), m.group(3))
        for m in REPO_PATH.finditer(line):
            if not os.path.exists(os.path.join(ROOT, m.group(1))):
                yield f"{where}:{n}: {m.group(1)} does not exist"
    if path.endswith(".md"):
        base = os.path.dirname(path)
        for n, line in enumerate(FENCE.sub(lambda f: "\n" * f.group(0).count("\n"),
                                           text).splitlines(), 1):
            for m in MD_LINK.finditer(line):
                target = os.path.join(base, m.group(1)) if m.group(1) else path
                yield from _check_target(where, n, target, m.group(2), None)


def _check_target(where: str, n: int, target: str, frag: str | None,
                  section: str | None) -> Iterator[str]:
    if not os.path.isfile(target):
        yield f"{where}:{n}: {_rel(target)} does not exist"
        return
    titles = headings(target)
    if frag and frag[1:] not in {anchor(t) for t in titles}:
        yield f"{where}:{n}: {_rel(target)} has no heading with anchor {frag}"
    if section and not section_exists(titles, section):
        yield f"{where}:{n}: {_rel(target)} has no section {section.strip().rstrip('.')!r}"


def test_every_citation_resolves_inside_the_repository():
    problems = [p for path in _files() if _rel(path) not in PENDING for p in _problems_in(path)]
    assert not problems, "\n".join(problems)


def resolves(dotted: str) -> bool:
    """Whether ``congress.a.b.C.m`` names a module, or an attribute chain of one."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for name in parts[i:]:
                obj = getattr(obj, name)
        except AttributeError:
            return False
        return True
    return False


def test_docstring_cross_references_resolve():
    broken = []
    for path in _files():
        if path.endswith(".py"):
            for n, line in enumerate(_read(path).splitlines(), 1):
                broken += [f"{_rel(path)}:{n}: {m.group(1)}" for m in XREF.finditer(line)
                           if not resolves(m.group(1))]
    assert not broken, "names that do not exist:\n" + "\n".join(broken)


def test_resolves():
    assert resolves("congress.datasources.declare")
    assert resolves("congress.exceptions.CongressError.code")
    assert not resolves("congress.datasources.nosuch")
    assert not resolves("congress.exceptions.NoSuchError")


def test_the_reference_documents_exist():
    for name in ("architecture.md", "api.md", "policy-language.md", "development.md"):
        assert os.path.isfile(os.path.join(ROOT, "doc", name)), name


# ------------------------------------------------------------------ the checker itself
@pytest.mark.parametrize("heading, expected", [
    ("Layers (imports point downward only)", "layers-imports-point-downward-only"),
    ("4. Named column references", "4-named-column-references"),
    ("The engine (`datalog/evaluation/`)", "the-engine-datalogevaluation"),
    ("Policy kinds", "policy-kinds"),
])
def test_anchor_follows_github(heading, expected):
    assert anchor(heading) == expected


def test_sections_match_by_number_or_title():
    titles = ["Policies", "Policy tables and rows", "4. Named column references"]
    assert section_exists(titles, "Policies")
    assert section_exists(titles, "Policy tables and rows")
    assert section_exists(titles, "4")
    assert section_exists(titles, "4. The padding")
    assert not section_exists(titles, "41")
    assert section_exists(titles, "Policies for the details")
    assert not section_exists(titles, "Rules")
    assert not section_exists(titles, "5")
    assert not section_exists(titles, "Policie")


def test_outside_citations_are_recognised(tmp_path):
    bad = [
        "see " + "../" + "shared/DESIGN" + ".md",
        "(spec/" + "api.md §5)",
        "as in " + "/work/" + "shared/spec",
        "note: \"spec " + "4: padding\"",
    ]
    for line in bad:
        assert OUTSIDE.search(line), line
    for line in ("doc/api.md §Policies", "get_table_spec(table)", "the table's spec"):
        assert not OUTSIDE.search(line), line


def test_broken_doc_references_are_reported(tmp_path, monkeypatch):
    src = tmp_path / "x.py"
    src.write_text('"""See doc/api.md#no-such-heading, doc/nosuch.md and '
                   'doc/api.md §No such section."""\n', encoding="utf-8")
    problems = list(_problems_in(str(src)))
    assert any("no heading with anchor #no-such-heading" in p for p in problems), problems
    assert any("nosuch.md does not exist" in p for p in problems), problems
    assert any("no section 'No such section'" in p for p in problems), problems
    ok = tmp_path / "y.py"
    ok.write_text('"""See doc/api.md#errors and doc/api.md §Policies."""\n', encoding="utf-8")
    assert list(_problems_in(str(ok))) == []


def test_missing_repository_paths_are_reported(tmp_path):
    src = tmp_path / "x.py"
    src.write_text("# moved: congress/nosuch/module.py; kept: congress/api/app.py,\n"
                   "# /etc/congress/congress.conf and ~/congress/x.py are not repository paths\n",
                   encoding="utf-8")
    problems = list(_problems_in(str(src)))
    assert len(problems) == 1 and "congress/nosuch/module.py does not exist" in problems[0], \
        problems


def test_pending_files_still_need_their_exemption():
    """An exempted file that became clean must leave PENDING, so that it stays clean."""
    for rel in PENDING:
        path = os.path.join(ROOT, rel)
        if os.path.isfile(path):
            assert list(_problems_in(path)), f"{rel} is clean now: remove it from PENDING"
