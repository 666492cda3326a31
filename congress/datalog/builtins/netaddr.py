"""IP address and network builtins (IPv4 and IPv6, stdlib ``ipaddress``).

Addresses order by (IP version, numeric value), so every IPv4 address sorts before every IPv6
address and the two never compare equal (an IPv4-mapped IPv6 address is not its IPv4 address).
Networks may have host bits set (``10.0.0.1/24`` is the network ``10.0.0.0/24``); a bare address
is a single-address network. Unparsable input fails the literal.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

from congress.datalog.builtins.base import Builtin

FAMILY = "netaddr"


@functools.lru_cache(maxsize=4096, typed=True)
def _addr(x: Any) -> tuple[int, int]:
    """(version, value) of an IP address."""
    a = ipaddress.ip_address(x)
    return (a.version, int(a))


@functools.lru_cache(maxsize=4096, typed=True)
def _net(x: Any) -> tuple[int, int, int]:
    """(version, first address, last address) of a network in CIDR notation."""
    n = ipaddress.ip_network(x, strict=False)
    return (n.version, int(n.network_address), int(n.broadcast_address))


def ips_equal(x: Any, y: Any) -> bool:
    return _addr(x) == _addr(y)


def ips_lt(x: Any, y: Any) -> bool:
    return _addr(x) < _addr(y)


def ips_lteq(x: Any, y: Any) -> bool:
    return _addr(x) <= _addr(y)


def ips_gt(x: Any, y: Any) -> bool:
    return _addr(x) > _addr(y)


def ips_gteq(x: Any, y: Any) -> bool:
    return _addr(x) >= _addr(y)


def networks_equal(x: Any, y: Any) -> bool:
    return _net(x) == _net(y)


def networks_overlap(x: Any, y: Any) -> bool:
    """True iff the first or the last address of y lies within x.

    Asymmetric on purpose, as OpenStack Congress computed it, so that existing policies keep
    their meaning: it misses the case where y strictly
    contains x, e.g. networks_overlap("10.1.0.0/16", "10.0.0.0/8") is false.
    """
    version, first, last = _net(x)
    y_version, y_first, y_last = _net(y)
    if version != y_version:
        return False
    return first <= y_first <= last or first <= y_last <= last


def ip_in_network(x: Any, y: Any) -> bool:
    version, value = _addr(x)
    net_version, first, last = _net(y)
    return version == net_version and first <= value <= last


def _b(name: str, fn: Any, doc: str) -> Builtin:
    return Builtin(name, 2, 2, fn, FAMILY, doc)


BUILTINS: list[Builtin] = [
    _b("ips_equal", ips_equal, "ips_equal(x, y): true if IP addresses x and y are equal"),
    _b("ips_lt", ips_lt, "ips_lt(x, y): true if IP address x < y"),
    _b("ips_lteq", ips_lteq, "ips_lteq(x, y): true if IP address x <= y"),
    _b("ips_gt", ips_gt, "ips_gt(x, y): true if IP address x > y"),
    _b("ips_gteq", ips_gteq, "ips_gteq(x, y): true if IP address x >= y"),
    _b(
        "networks_equal",
        networks_equal,
        "networks_equal(x, y): true if CIDRs x and y denote the same network",
    ),
    _b(
        "networks_overlap",
        networks_overlap,
        "networks_overlap(x, y): true if the first or last address of CIDR y is inside CIDR x",
    ),
    _b(
        "ip_in_network",
        ip_in_network,
        "ip_in_network(x, y): true if IP address x is inside CIDR y",
    ),
]
