#!/usr/bin/env bash
# Lint the Ansible code and run its molecule scenarios on lab hosts (tests/e2e/lab.py:
# Debian 12 systemd-nspawn containers on a private bridge; needs root).
#
#   bash scripts/molecule.sh lint                   yamllint + ansible-lint (production profile)
#                                                   + ansible-playbook --syntax-check
#   bash scripts/molecule.sh role NAME [ACTION]     one role's default scenario (ACTION: test,
#                                                   the default, or converge|verify|destroy|...)
#   bash scripts/molecule.sh roles                  the default scenario of every role with one
#   bash scripts/molecule.sh cluster [ACTION]       the whole topology (ansible/molecule/cluster)
#   bash scripts/molecule.sh aio [ACTION]           site.yml on one all-in-one host
#
# Creates .venv-ansible on first use (scripts/ansible-venv.sh). Lab hosts share the .deb files
# apt downloads through CONGRESS_LAB_APT_CACHE (default /var/cache/congress-lab/apt-archives;
# empty: every host downloads its own). The congress_* roles, aio and cluster build the
# packages first when build/debs has none; cluster also builds VERSION+1 into build/debs-next.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
log() { printf '[molecule.sh] %s\n' "$*" >&2; }

VENV=$(bash scripts/ansible-venv.sh)
export PATH="$VENV/bin:$PATH"
export ANSIBLE_CONFIG="$ROOT/ansible/ansible.cfg"
export ANSIBLE_CONNECTION_PLUGINS="$ROOT/ansible/plugins/connection"
export ANSIBLE_ROLES_PATH="$ROOT/ansible/roles"
export ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-0}"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export MOLECULE_NO_LOG="${MOLECULE_NO_LOG:-false}"
export CONGRESS_LAB_APT_CACHE="${CONGRESS_LAB_APT_CACHE-/var/cache/congress-lab/apt-archives}"

need_lab_tools() {
    [ "$(id -u)" = 0 ] || { log "the lab needs root"; exit 1; }
    python3 -c 'import sys; from tests.e2e.lab import missing_tools; m = missing_tools(); print(*m); sys.exit(bool(m))' >/dev/null \
        || { log "installing the lab's tools"; apt-get install -y -qq debootstrap systemd-container iptables iproute2 >/dev/null; }
}

# The packages' build-time unit tests are skipped here (nocheck): dev.sh test runs them.
need_debs() {
    if [ ! -f build/debs/Packages ]; then
        log "building the Congress packages (scripts/dev.sh debs)"
        DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-nocheck}" bash scripts/dev.sh debs --no-lintian >&2
    fi
}

# The same code as build/debs with a higher version (VERSION+1), into build/debs-next (again
# whenever build/debs is newer): the cluster scenario's rolling_upgrade.yml upgrades to it.
need_next_debs() {
    local next
    next="$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)+1"
    if [ build/debs/Packages -nt build/debs-next/Packages ] \
        || ! ls build/debs-next/*_"${next}"_all.deb >/dev/null 2>&1; then
        log "building the Congress packages $next for the rolling upgrade (build/debs-next)"
        DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-nocheck}" bash scripts/dev.sh debs --no-lintian --version "$next" \
            --out build/debs-next >&2
    fi
}

cmd=${1:-}
case "$cmd" in
lint)
    cd "$ROOT/ansible"
    log "yamllint"
    yamllint -s .
    log "ansible-lint (production profile)"
    ansible-lint --profile production --strict
    log "ansible-playbook --syntax-check"
    for pb in playbooks/*.yml; do
        ansible-playbook --syntax-check -i inventory/example.yml "$pb" >/dev/null
    done
    log "lint clean"
    ;;
role)
    name=${2:?usage: molecule.sh role NAME [ACTION]}
    action=${3:-test}
    [ -d "$ROOT/ansible/roles/$name/molecule/default" ] || { log "no scenario for role $name"; exit 2; }
    need_lab_tools
    case "$name" in congress_*) need_debs ;; esac
    cd "$ROOT/ansible/roles/$name"
    start=$(date +%s)
    molecule "$action"
    log "role $name: molecule $action passed in $(( $(date +%s) - start )) s"
    ;;
roles)
    for dir in "$ROOT"/ansible/roles/*/molecule/default; do
        role=$(basename "$(dirname "$(dirname "$dir")")")
        # molecule links namespaced copies (congress.NAME) next to the roles: skip them
        case "$role" in *.*) continue ;; esac
        bash "$0" role "$role"
    done
    ;;
cluster|aio)
    scenario=$cmd
    action=${2:-test}
    need_lab_tools
    need_debs
    [ "$scenario" != cluster ] || need_next_debs
    cd "$ROOT/ansible"
    start=$(date +%s)
    molecule "$action" -s "$scenario"
    log "$scenario: molecule $action passed in $(( $(date +%s) - start )) s"
    ;;
*)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    [ -z "$cmd" ] || [ "$cmd" = -h ] || [ "$cmd" = --help ] || exit 2
    ;;
esac
