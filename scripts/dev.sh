#!/usr/bin/env bash
# Set up a development machine (idempotent) and run Congress or its tests.
#
#   bash scripts/dev.sh server [congress-server options]   all-in-one server on 127.0.0.1:1789
#   bash scripts/dev.sh test [pytest options]              the whole test suite
#   bash scripts/dev.sh setup                              only install what is needed
#   bash scripts/dev.sh setup-db                           MariaDB/RabbitMQ/HAProxy and the
#                                                          MariaDB test user only
#   bash scripts/dev.sh test-debian [pytest options]       unit + server tests on Debian 12's
#                                                          python3-* packages (.venv-debian)
#   bash scripts/dev.sh clean-host [--no-tests]            the README's quick start on a clean
#                                                          Debian 12 host (systemd-nspawn)
#   bash scripts/dev.sh debs [--version V] [--out DIR] [--no-lintian]
#                                                          Debian packages into build/debs (a flat
#                                                          apt repository: Packages index)
#   bash scripts/dev.sh test-e2e [pytest options]          the packages on lab hosts (install,
#                                                          PE pair, upgrade/purge, Pacemaker)
#
# Works on a fresh Debian 12 machine as root (or with sudo): installs the Debian packages it
# needs, creates .venv with Congress and its dependencies, and for tests makes sure MariaDB and
# RabbitMQ run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"

log() { printf '[dev.sh] %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing Debian packages: ${missing[*]}"
        if [ ! -f /var/lib/apt/periodic/congress-updated ]; then
            as_root apt-get update -qq
            as_root mkdir -p /var/lib/apt/periodic && as_root touch /var/lib/apt/periodic/congress-updated
        fi
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

setup_python() {
    command -v python3 >/dev/null || apt_install python3
    python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating $VENV"
        python3 -m venv "$VENV"
    fi
    local stamp="$VENV/.congress-installed"
    if [ ! -f "$stamp" ] || [ setup.py -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        log "installing Congress and its dependencies into $VENV"
        "$VENV/bin/pip" install -q --disable-pip-version-check --upgrade pip wheel
        "$VENV/bin/pip" install -q --disable-pip-version-check -e ".[server,test]"
        touch "$stamp"
    fi
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && exec 3>&- 3<&-
}

wait_port() {
    local port=$1 what=$2
    for _ in $(seq 1 120); do
        port_open "$port" && return 0
        sleep 0.5
    done
    log "$what did not come up on port $port"
    return 1
}

setup_services() {
    apt_install haproxy mariadb-server rabbitmq-server
    if ! port_open 3306; then
        log "starting MariaDB"
        as_root mkdir -p /run/mysqld && as_root chown mysql:mysql /run/mysqld 2>/dev/null || true
        as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
        wait_port 3306 MariaDB
    fi
    if ! port_open 5672; then
        log "starting RabbitMQ"
        as_root rabbitmq-server -detached
        wait_port 5672 RabbitMQ
    fi
    setup_test_db
}

# The tests log in to MariaDB as a dedicated user (CONGRESS_TEST_MYSQL_URL, default
# mysql+pymysql://congress_test:congress_test@127.0.0.1:3306) that may create and drop databases
# named congress*. It is created here, idempotently, through the unix socket as MariaDB's root
# (a fresh Debian MariaDB lets root in by socket only). A user who sets CONGRESS_TEST_MYSQL_URL
# brings their own account.
TEST_DB_USER=congress_test
TEST_DB_PASSWORD=congress_test

setup_test_db() {
    if [ -n "${CONGRESS_TEST_MYSQL_URL:-}" ]; then
        log "CONGRESS_TEST_MYSQL_URL is set: not creating the MariaDB test user"
        return 0
    fi
    local sql="" host
    for host in localhost 127.0.0.1; do
        sql+="CREATE USER IF NOT EXISTS '$TEST_DB_USER'@'$host' IDENTIFIED BY '$TEST_DB_PASSWORD';"
        sql+="ALTER USER '$TEST_DB_USER'@'$host' IDENTIFIED BY '$TEST_DB_PASSWORD';"
        sql+="GRANT ALL PRIVILEGES ON \`congress%\`.* TO '$TEST_DB_USER'@'$host';"
    done
    if ! as_root mariadb --protocol=socket -uroot -e "$sql"; then
        log "could not create the MariaDB test user through the unix socket as root;"
        log "set CONGRESS_TEST_MYSQL_URL to an account that may create databases named congress*"
        return 1
    fi
}

DEBIAN_PACKAGES="python3-venv python3-oslo.messaging python3-oslo.config python3-oslo.policy
    python3-keystonemiddleware python3-falcon python3-waitress
    python3-sqlalchemy python3-alembic python3-pymysql python3-cryptography python3-jsonschema
    python3-openstacksdk python3-keystoneauth1 python3-requests python3-yaml python3-dateutil
    python3-cotyledon python3-hypothesis python3-pytest"

setup_debian_venv() {
    # shellcheck disable=SC2086
    apt_install $DEBIAN_PACKAGES
    local venv="$ROOT/.venv-debian"
    if [ ! -x "$venv/bin/python" ]; then
        log "creating $venv on /usr/bin/python3 with Debian's packages"
        /usr/bin/python3 -m venv --system-site-packages "$venv"
    fi
    if [ ! -f "$venv/.congress-installed" ] || [ setup.py -nt "$venv/.congress-installed" ]; then
        "$venv/bin/pip" install -q --disable-pip-version-check --no-deps -e .
        "$venv/bin/pip" install -q --disable-pip-version-check ruff import-linter
        touch "$venv/.congress-installed"
    fi
}

# Lab hosts (tests/e2e): clean Debian 12 machines booted with systemd-nspawn.
setup_lab_tools() {
    apt_install debootstrap systemd-container iptables iproute2 git
}

# Debian packages: the files git knows (tracked, or new and not ignored) plus
# packaging/debian as debian/, built out of tree in build/src with dpkg-buildpackage.
build_debs() {
    local version="" out="$ROOT/build/debs" lintian=1
    while [ $# -gt 0 ]; do
        case "$1" in
            --version) version=$2; shift 2 ;;
            --out) out=$2; shift 2 ;;
            --no-lintian) lintian=0; shift ;;
            *) log "debs: unknown option $1"; return 2 ;;
        esac
    done
    apt_install dpkg-dev debhelper dh-python python3-all python3-setuptools fakeroot lintian git
    local changelog="$ROOT/packaging/debian/changelog"
    [ -n "$version" ] || version=$(dpkg-parsechangelog -l "$changelog" -S Version)
    local work="$ROOT/build/src" src
    src="$work/congress-$version"
    rm -rf "$work" && mkdir -p "$src" "$out"
    git ls-files -z --cached --others --exclude-standard \
        | tar --null --ignore-failed-read -cf - -T - 2>/dev/null | tar -xf - -C "$src"
    rm -rf "$src/debian" && cp -a packaging/debian "$src/debian"
    if [ "$version" != "$(dpkg-parsechangelog -l "$changelog" -S Version)" ]; then
        # a package of another version (e.g. the "previous" one for upgrade tests)
        { printf 'congress (%s) unstable; urgency=medium\n\n  * Built by dev.sh debs --version %s.\n\n' \
              "$version" "$version"
          printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -l "$changelog" -S Maintainer)" \
              "$(date -R)"
          cat "$changelog"; } > "$src/debian/changelog"
    fi
    if ! (cd "$src" && dpkg-checkbuilddeps >/dev/null 2>&1); then
        log "installing the build dependencies of packaging/debian/control"
        (cd "$src" && as_root env DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -qq . \
            >/dev/null)
    fi
    log "dpkg-buildpackage -us -uc in $src"
    # Debian's python3 and tools, whatever this shell's PATH holds (pyenv, venvs)
    (cd "$src" && env PATH=/usr/sbin:/usr/bin:/sbin:/bin dpkg-buildpackage -us -uc) \
        > "$work/build.log" 2>&1 || {
        tail -n 60 "$work/build.log" >&2; log "build failed: $work/build.log"; return 1; }
    rm -f "$out"/*.deb
    cp "$work"/*_"$version"_all.deb "$out"/
    (cd "$out" && dpkg-scanpackages --multiversion . /dev/null > Packages 2>/dev/null)
    log "packages in $out (apt: deb [trusted=yes] file:$out ./):"
    ls -1 "$out"/*.deb >&2
    if [ "$lintian" = 1 ]; then
        log "lintian"
        lintian --fail-on error --tag-display-limit 0 "$work"/congress_"$version"_*.changes \
            | tee "$work/lintian.log" >&2
    fi
}

cmd=${1:-help}
shift || true
case "$cmd" in
    setup)
        setup_python
        ;;
    setup-db)
        setup_services
        ;;
    clean-host)
        setup_lab_tools
        exec python3 -m tests.e2e.clean_host "$@"
        ;;
    debs)
        build_debs "$@"
        ;;
    test-e2e)
        setup_python
        setup_lab_tools
        exec env CONGRESS_E2E=1 "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/e2e "$@"
        ;;
    server)
        setup_python
        exec "$VENV/bin/congress-server" "$@"
        ;;
    test)
        setup_python
        setup_services
        exec "$VENV/bin/python" -m pytest -q "$@"
        ;;
    test-debian)
        setup_debian_venv
        setup_services
        exec "$ROOT/.venv-debian/bin/python" -m pytest -q tests/unit \
            tests/functional/test_server_policies.py tests/functional/test_ha_policy.py "$@"
        ;;
    *)
        sed -n '2,/^set /{/^#/p}' "$0"
        exit 2
        ;;
esac
