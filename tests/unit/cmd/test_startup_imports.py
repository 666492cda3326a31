"""What congress-server imports to start: heavy libraries only where they are used
(benchmarks/bench_startup.py measures the time; this keeps the lazy imports lazy)."""

from __future__ import annotations

import subprocess
import sys

import pytest

LAZY = ("alembic", "mako", "pygments", "oslo_policy", "keystonemiddleware", "jsonschema",
        "openstack", "keystoneauth1")


def test_server_modules_leave_heavy_libraries_unimported():
    code = (
        "import sys\n"
        "import congress.cmd.server, congress.api.app, congress.api.server\n"
        "import congress.services.policy_engine, congress.services.library\n"
        "import congress.services.datasource_manager, congress.bus\n"
        "from congress.api import validation\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1:])))\n")
    out = subprocess.run([sys.executable, "-c", code, *LAZY], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_policy_validation_still_works_when_loaded_late():
    from congress.api import validation
    from congress.exceptions import BadRequest
    validation.validate_policy_item({"name": "p", "rules": [{"rule": "p(x) :- q(x)"}]})
    with pytest.raises(BadRequest) as info:
        validation.validate_policy_item({"name": "p", "rules": [], "bogus": 1})
    assert "bogus" in str(info.value.data)
