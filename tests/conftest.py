"""Fixtures for every test."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _root_logger_restored() -> Iterator[None]:
    """The root logger's handlers and level as they were before the test.

    The commands' logging set-up (congress-server, congress-db-manage run in-process) replaces
    the root handlers with one on the test's captured stderr; left in place, every later log
    record, from any thread still running, is written to that closed stream ("--- Logging
    error --- ValueError: I/O operation on closed file")."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
