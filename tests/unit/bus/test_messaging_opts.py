"""What a node of the in-process bus leaves alone: oslo.messaging is not even imported (the
bus's own in-process transport, congress/bus/local.py), its options are not registered; with a
broker all of them are. Which one is read from the configuration files, the environment and
the command line, as oslo.config would."""

from __future__ import annotations

import os
import subprocess
import sys

CODE = """
import sys
from oslo_config import cfg
from congress.bus import Node
conf = cfg.ConfigOpts()
conf(sys.argv[1:])
node = Node.from_conf(conf, "n1")
print("oslo" if "oslo_messaging" in sys.modules else "-",
      "opts" if "oslo_messaging.opts" in sys.modules else "-",
      "kombu" if "kombu" in sys.modules else "-",
      "rabbit" if "oslo_messaging_rabbit" in conf else "-",
      node.transport_url or "inprocess")
"""


def _run(*args: str, env: dict[str, str] | None = None) -> list[str]:
    return subprocess.run([sys.executable, "-c", CODE, *args], capture_output=True, text=True,
                          check=True, env=env).stdout.split()


def test_the_in_process_bus_leaves_the_broker_drivers_alone(tmp_path) -> None:
    assert _run() == ["-", "-", "-", "-", "inprocess"]
    conf = tmp_path / "c.conf"
    conf.write_text("[DEFAULT]\ntransport_url = inprocess://\n")
    assert _run("--config-file", str(conf)) == ["-", "-", "-", "-", "inprocess://"]
    # a file of a --config-dir, and the environment, are read too
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "bus.conf").write_text("[DEFAULT]\ntransport_url = fake://\n")
    assert _run("--config-dir", str(tmp_path / "d")) == ["-", "-", "-", "-", "fake://"]
    env = {**os.environ, "OS_DEFAULT__TRANSPORT_URL": "inprocess://x"}
    assert _run(env=env) == ["-", "-", "-", "-", "inprocess://x"]


def test_a_broker_gets_every_option(tmp_path) -> None:
    conf = tmp_path / "c.conf"
    conf.write_text("[DEFAULT]\ntransport_url = rabbit://guest:guest@127.0.0.1:5672/\n"
                    "[oslo_messaging_rabbit]\nheartbeat_timeout_threshold = 7\n")
    assert _run("--config-file", str(conf)) == [
        "oslo", "opts", "kombu", "rabbit", "rabbit://guest:guest@127.0.0.1:5672/"]
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "bus.conf").write_text(conf.read_text())
    assert _run("--config-dir", str(tmp_path / "d"))[:4] == ["oslo", "opts", "kombu", "rabbit"]
