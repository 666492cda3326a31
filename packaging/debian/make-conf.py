#!/usr/bin/python3
"""Turn oslo-config-generator's sample into the packaged /etc/congress/congress.conf.

Every option stays, commented, as generated; these become settings (the build fails if the
generator's output no longer has the line to replace):

* state_path = /var/lib/congress: the service runs as the congress user, whose default
  would be under its home directory;
* auth_strategy = noauth: the choice must be stated outside the all-in-one developer mode;
  the API listens on 127.0.0.1 unless bind_host says otherwise.
"""

import re
import sys

HEADER = """\
# Congress configuration (/etc/congress/congress.conf).
#
# Every option is listed below with its default, commented out. Uncommented
# settings are what the Debian packages need:
#   state_path     the congress user's state directory (SQLite database, keys)
#   auth_strategy  noauth while the API listens on 127.0.0.1 (bind_host); set
#                  keystone (and [keystone_authtoken]) before binding elsewhere
#
# congress-server.service reads this file; congress-pe@N.service reads it and
# then /etc/congress/congress-pe@N.conf if present (node id <hostname>-peN and
# API port 1789+N unless set); congress-dsd.service reads it as node
# datasource-node. Reload log levels with: systemctl reload <unit>.

"""

SETTINGS = {
    "state_path": "/var/lib/congress",
    "auth_strategy": "noauth",
}


def main(src: str, dst: str) -> int:
    with open(src) as f:
        text = f.read()
    for name, value in SETTINGS.items():
        text, n = re.subn(rf"^#{name} = .*$", f"{name} = {value}", text, count=1, flags=re.M)
        if n != 1:
            print(f"make-conf: no '#{name} = ' line in {src}", file=sys.stderr)
            return 1
    with open(dst, "w") as f:
        f.write(HEADER + text)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
