#!/usr/bin/env bash
# Create (idempotently) the virtualenv with the Ansible tooling of ansible/: ansible-core, the
# collections the roles use (from the "ansible" community package on PyPI), ansible-lint,
# yamllint and molecule. Pinned to releases that work together on Python 3.11.
#
#   bash scripts/ansible-venv.sh             -> .venv-ansible (prints its path on stdout)
#   ANSIBLE_VENV=/some/dir bash scripts/ansible-venv.sh
#
# Collections come from PyPI, not from Galaxy: ansible 9.x bundles ansible.posix,
# community.general, community.mysql and community.rabbitmq (the ones the roles need).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="${ANSIBLE_VENV:-$ROOT/.venv-ansible}"
PINS=(
    "ansible==9.13.0"          # ansible-core 2.16 + community collections
    "ansible-core==2.16.19"
    "ansible-lint==24.12.2"
    "ansible-compat==24.10.0"
    "molecule==24.12.0"
    "yamllint==1.35.1"
)
STAMP="$VENV/.ansible-installed-$(printf '%s\n' "${PINS[@]%%[[:space:]]*}" | md5sum | cut -c1-12)"

log() { printf '[ansible-venv] %s\n' "$*" >&2; }

if [ -f "$STAMP" ] && [ -x "$VENV/bin/ansible-playbook" ]; then
    echo "$VENV"
    exit 0
fi
command -v python3 >/dev/null || { log "python3 is needed"; exit 1; }
python3 -c 'import venv, ensurepip' 2>/dev/null || {
    log "installing python3-venv"
    apt-get install -y -qq python3-venv >/dev/null
}
if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
fi
log "installing ${PINS[*]%%[[:space:]]*}"
pip_install() {
    # pip's notes about unused local index locations are noise here
    "$VENV/bin/pip" install -q --disable-pip-version-check "$@" 2>&1 \
        | { grep -v '^WARNING: Location .* is ignored' || true; } >&2
    return "${PIPESTATUS[0]}"
}
pip_install --upgrade pip wheel
pip_install "${PINS[@]%%[[:space:]]*}"
for collection in ansible.posix community.general community.mysql community.rabbitmq; do
    "$VENV/bin/ansible-galaxy" collection list "$collection" 2>/dev/null | grep -q "^$collection " \
        || { log "collection $collection missing from the ansible package"; exit 1; }
done
rm -f "$VENV"/.ansible-installed-*
touch "$STAMP"
log "ready: $VENV"
echo "$VENV"
