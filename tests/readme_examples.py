"""The README's examples as a runnable script, and the check of what they printed.

The blocks between ``<!-- readme-examples ... -->`` and ``<!-- readme-examples-end -->`` in
README.md are run in order by bash against a fresh server. ``curl`` is wrapped so that each call
ends its output with its HTTP status and a separator line: every call must answer 2xx with no
error envelope. Used by ``tests/functional/test_readme.py`` (a server of the test suite) and by
``tests/e2e/clean_host.py`` (the README's own server on a clean Debian 12 host).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
SEPARATOR = "@@readme-example-call@@"
_SECTION = re.compile(r"<!-- readme-examples\b.*?-->(.*?)<!-- readme-examples-end -->", re.S)
_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)


def blocks(text: str | None = None) -> list[str]:
    """The example blocks, in README order."""
    if text is None:
        with open(README, encoding="utf-8") as f:
            text = f.read()
    section = _SECTION.search(text)
    if section is None:
        raise ValueError("README.md has no readme-examples section")
    found = _BLOCK.findall(section.group(1))
    if not found:
        raise ValueError("the readme-examples section holds no ```sh block")
    return found


def script(port: int = 1789, text: str | None = None) -> str:
    """A bash script running every example block against ``localhost:<port>``."""
    prelude = ("set -euo pipefail\n"
               "curl() { command curl -w '\\n%{http_code}\\n' \"$@\"; "
               f"echo '{SEPARATOR}'; }}\n")
    body = "\n".join(blocks(text))
    if port != 1789:
        body = body.replace("localhost:1789", f"localhost:{port}")
    return prelude + body


def calls(output: str) -> list[tuple[int, Any]]:
    """(HTTP status, decoded JSON body or None) of each curl call, from the script's output."""
    out = []
    for chunk in output.split(SEPARATOR + "\n"):
        if not chunk.strip():
            continue
        body, _, status = chunk.rstrip("\n").rpartition("\n")
        out.append((int(status), json.loads(body) if body.strip() else None))
    return out


def problems(output: str) -> list[str]:
    """What went wrong in the examples' output (empty when every call answered 2xx)."""
    found = []
    for i, (status, body) in enumerate(calls(output), 1):
        if not 200 <= status < 300 or (isinstance(body, dict) and "error" in body):
            found.append(f"call {i}: HTTP {status} {json.dumps(body)[:300]}")
    return found
