"""The repository unit tests (tests/unit/db), run again against MariaDB.

Every ``test_*`` function of the listed modules is collected here too, where the ``db`` fixture
is the MariaDB database of the session (see conftest.py).
"""

from __future__ import annotations

import pytest

from tests.unit.db import (
    test_actions,
    test_datasources,
    test_library,
    test_policies,
    test_tabledata,
)

pytestmark = pytest.mark.functional

for _module in (test_policies, test_datasources, test_tabledata, test_library, test_actions):
    for _name in dir(_module):
        if _name.startswith("test_"):
            globals()[f"{_name}__{_module.__name__.rsplit('.', 1)[1][5:]}"] = getattr(
                _module, _name)
del _module, _name
