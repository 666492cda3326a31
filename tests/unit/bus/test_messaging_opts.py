"""Which of oslo.messaging's options a node registers: on the in-process bus only the
transport's (listing the drivers' options imports every driver: kombu, amqp ...); with a
broker all of them."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
from oslo_config import cfg
from congress.bus import Node
conf = cfg.ConfigOpts()
conf(sys.argv[1:])
node = Node.from_conf(conf, "n1")
print("opts" if "oslo_messaging.opts" in sys.modules else "-",
      "kombu" if "kombu" in sys.modules else "-",
      "rabbit" if "oslo_messaging_rabbit" in conf else "-",
      node.transport_url or "inprocess")
"""


def _run(*args: str) -> list[str]:
    return subprocess.run([sys.executable, "-c", CODE, *args], capture_output=True, text=True,
                          check=True).stdout.split()


def test_the_in_process_bus_leaves_the_broker_drivers_alone(tmp_path) -> None:
    assert _run() == ["-", "-", "-", "inprocess"]
    conf = tmp_path / "c.conf"
    conf.write_text("[DEFAULT]\ntransport_url = inprocess://\n")
    assert _run("--config-file", str(conf)) == ["-", "-", "-", "inprocess://"]


def test_a_broker_gets_every_option(tmp_path) -> None:
    conf = tmp_path / "c.conf"
    conf.write_text("[DEFAULT]\ntransport_url = rabbit://guest:guest@127.0.0.1:5672/\n"
                    "[oslo_messaging_rabbit]\nheartbeat_timeout_threshold = 7\n")
    assert _run("--config-file", str(conf)) == [
        "opts", "kombu", "rabbit", "rabbit://guest:guest@127.0.0.1:5672/"]
