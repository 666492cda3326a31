#!/usr/bin/env bash
# Create (idempotently) the virtualenv with OpenStack's Congress client, unchanged, used by the
# client compatibility tests: python-openstackclient + python-congressclient 2.0.1 from PyPI.
#
#   bash scripts/client-venv.sh            -> .venv-client (prints its path on stdout)
#   CLIENT_VENV=/some/dir bash scripts/client-venv.sh
#
# PyYAML is pinned to 5.3.1: the client's `policy create-from-file` calls yaml.load() without a
# Loader, which PyYAML 6 rejects. 5.3.1 is an sdist; it builds on Python 3.11 with plain
# setuptools (its C extension is only built when Cython and libyaml are there; otherwise the
# pure-Python version is installed). If the build fails under build isolation we retry with
# Cython<3 and --no-build-isolation.
#
# The virtualenv is kept separate from .venv because the OpenStack client stack pins versions
# (oslo.*, keystoneauth1, ...) that must not leak into Congress's own environment.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="${CLIENT_VENV:-$ROOT/.venv-client}"
CONGRESSCLIENT_VERSION=2.0.1
PYYAML_VERSION=5.3.1
STAMP="$VENV/.client-installed-$CONGRESSCLIENT_VERSION-$PYYAML_VERSION"

log() { printf '[client-venv] %s\n' "$*" >&2; }

if [ -f "$STAMP" ] && [ -x "$VENV/bin/openstack" ]; then
    echo "$VENV"
    exit 0
fi

# the same interpreter as the project's virtualenv when there is one
PYTHON=python3
if [ -f "$ROOT/.venv/pyvenv.cfg" ]; then
    home=$(sed -n 's/^home *= *//p' "$ROOT/.venv/pyvenv.cfg")
    for candidate in "$home/python3" "$home/python"; do
        if [ -x "$candidate" ]; then PYTHON=$candidate; break; fi
    done
fi

if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/pip" install -q --disable-pip-version-check)

"${PIP[@]}" --upgrade pip setuptools wheel
if ! "${PIP[@]}" "PyYAML==$PYYAML_VERSION"; then
    log "PyYAML $PYYAML_VERSION did not build with build isolation; retrying with Cython<3"
    "${PIP[@]}" "Cython<3"
    "${PIP[@]}" --no-build-isolation "PyYAML==$PYYAML_VERSION"
fi
log "installing python-openstackclient and python-congressclient==$CONGRESSCLIENT_VERSION"
"${PIP[@]}" python-openstackclient "python-congressclient==$CONGRESSCLIENT_VERSION" \
    "PyYAML==$PYYAML_VERSION"

# sanity check: the plugin is found and PyYAML is the 5.x one
"$VENV/bin/python" - <<'EOF'
import yaml
import congressclient.osc.osc_plugin  # noqa: F401
assert yaml.__version__.startswith("5."), yaml.__version__
EOF
"$VENV/bin/openstack" congress --help >/dev/null 2>&1 || \
    "$VENV/bin/openstack" help congress policy list >/dev/null
touch "$STAMP"
log "ready: $VENV"
echo "$VENV"
