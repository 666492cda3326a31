"""What congress-server imports to start: heavy libraries only where they are used
(benchmarks/bench_startup.py measures the time; this keeps the lazy imports lazy)."""

from __future__ import annotations

import subprocess
import sys

import pytest

LAZY = ("alembic", "mako", "pygments", "oslo_policy", "keystonemiddleware", "jsonschema",
        "openstack", "keystoneauth1",
        # only on a broker (congress/bus/transport.py; the in-process bus is congress/bus/local.py)
        "oslo_messaging", "kombu", "amqp", "futurist",
        # the CORS layer is Congress's own (congress/api/cors.py)
        "oslo_middleware", "webob")


# Run in a fresh interpreter: an import hook notes, for each first import of a LAZY package,
# which library Congress's own code imported to get there (the outermost frame below the
# innermost congress.* frame), or the package itself when a congress module imports it directly.
# A LAZY package reached through a library outside the list is that library's business: on
# Debian 12, oslo.messaging 14 imports eventlet -> dnspython -> httpx, whose command line
# (click, rich, pygments) loads whenever those happen to be installed.
PROBE = """
import sys
lazy = set(sys.argv[1:])
found = {}

class Probe:
    def find_spec(self, name, path=None, target=None):
        top = name.split('.')[0]
        if top in lazy and top not in found:
            chain, frame = [], sys._getframe(1)
            while frame is not None:
                mod = frame.f_globals.get('__name__', '')
                if not mod.startswith(('importlib', '_frozen_importlib')):
                    if not chain or chain[-1] != mod:
                        chain.append(mod)
                frame = frame.f_back
            inner = next((i for i, m in enumerate(chain) if m.split('.')[0] == 'congress'), None)
            if inner is not None:
                entry = chain[inner - 1] if inner > 0 else name
                found[top] = (entry.split('.')[0], ' <- '.join(chain[:inner + 1]))
        return None

sys.meta_path.insert(0, Probe())
import congress.cmd.server, congress.api.app, congress.api.server
import congress.services.policy_engine, congress.services.library
import congress.services.datasource_manager, congress.bus
from congress.api import validation
for top, (entry, chain) in sorted(found.items()):
    print(('CONGRESS ' if entry in lazy else 'other ') + top + ': ' + chain)
"""


def _probe():
    return subprocess.run([sys.executable, "-c", PROBE, *LAZY], capture_output=True, text=True,
                          check=True).stdout.splitlines()


def test_server_modules_leave_heavy_libraries_unimported():
    lines = _probe()
    assert [line for line in lines if line.startswith("CONGRESS ")] == [], lines


def test_probe_catches_a_lazy_library_imported_by_congress():
    # the same probe, with json (which congress.api imports directly) in the list, must see it
    out = subprocess.run([sys.executable, "-c", PROBE, "json"], capture_output=True, text=True,
                         check=True).stdout
    assert out.startswith("CONGRESS json: "), out


def test_policy_validation_still_works_when_loaded_late():
    from congress.api import validation
    from congress.exceptions import BadRequest
    validation.validate_policy_item({"name": "p", "rules": [{"rule": "p(x) :- q(x)"}]})
    with pytest.raises(BadRequest) as info:
        validation.validate_policy_item({"name": "p", "rules": [], "bogus": 1})
    assert "bogus" in str(info.value.data)
