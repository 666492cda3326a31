from __future__ import annotations

import pytest

from .helpers import holds, run

ORDERED = [
    "0.0.0.0",
    "10.0.0.1",
    "10.0.0.2",
    "192.168.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "::ffff:10.0.0.1",
    "2001:db8::1",
    "fe80::1",
]


def test_ips_equal():
    assert holds("ips_equal", "10.0.0.1", "10.0.0.1")
    assert not holds("ips_equal", "10.0.0.1", "10.0.0.2")
    assert holds("ips_equal", "2001:db8::1", "2001:0db8:0000:0000:0000:0000:0000:0001")
    assert holds("ips_equal", "2001:DB8::1", "2001:db8::1")
    # An IPv4-mapped IPv6 address is not its IPv4 address.
    assert not holds("ips_equal", "::ffff:10.0.0.1", "10.0.0.1")
    # Integers are addresses too.
    assert holds("ips_equal", 167772161, "10.0.0.1")


@pytest.mark.parametrize("i", range(len(ORDERED)))
def test_ips_ordering_v4_before_v6(i):
    x = ORDERED[i]
    for j, y in enumerate(ORDERED):
        assert holds("ips_lt", x, y) is (i < j)
        assert holds("ips_lteq", x, y) is (i <= j)
        assert holds("ips_gt", x, y) is (i > j)
        assert holds("ips_gteq", x, y) is (i >= j)
        assert holds("ips_equal", x, y) is (i == j)


def test_ips_numeric_not_lexicographic():
    assert holds("ips_lt", "10.0.0.9", "10.0.0.10")
    assert holds("ips_lt", "9.255.255.255", "10.0.0.0")


@pytest.mark.parametrize(
    "bad", ["", "10.0.0", "10.0.0.256", "10.0.0.0/24", "::g", "host", "010.0.0.1", -1, 1.5]
)
@pytest.mark.parametrize("name", ["ips_equal", "ips_lt", "ips_lteq", "ips_gt", "ips_gteq"])
def test_ips_bad_input_fails(name, bad):
    assert run(name, bad, "10.0.0.1") is None
    assert run(name, "10.0.0.1", bad) is None


def test_networks_equal():
    assert holds("networks_equal", "10.0.0.0/24", "10.0.0.0/24")
    assert holds("networks_equal", "10.0.0.1/24", "10.0.0.0/24")  # host bits ignored
    assert holds("networks_equal", "10.0.0.0/255.255.255.0", "10.0.0.0/24")
    assert holds("networks_equal", "10.0.0.1", "10.0.0.1/32")
    assert not holds("networks_equal", "10.0.0.0/24", "10.0.0.0/25")
    assert holds("networks_equal", "2001:db8::/32", "2001:db8:0::/32")
    assert not holds("networks_equal", "2001:db8::/32", "2001:db8::/48")
    assert not holds("networks_equal", "0.0.0.0/0", "::/0")


def test_networks_overlap_is_asymmetric():
    assert holds("networks_overlap", "10.0.0.0/8", "10.1.0.0/16")  # y inside x
    assert not holds("networks_overlap", "10.1.0.0/16", "10.0.0.0/8")  # x strictly inside y
    assert holds("networks_overlap", "10.0.0.0/24", "10.0.0.0/24")
    assert holds("networks_overlap", "10.0.0.0/24", "10.0.0.0/23")  # y's first is in x
    assert holds("networks_overlap", "10.0.1.0/24", "10.0.0.0/23")  # y's last is in x
    assert not holds("networks_overlap", "10.0.0.0/24", "10.0.1.0/24")
    assert holds("networks_overlap", "10.0.0.0/24", "10.0.0.255")
    assert not holds("networks_overlap", "10.0.0.0/24", "10.0.1.0")


def test_networks_overlap_v6_and_mixed():
    assert holds("networks_overlap", "2001:db8::/32", "2001:db8:1::/48")
    assert not holds("networks_overlap", "2001:db8:1::/48", "2001:db8::/32")
    assert not holds("networks_overlap", "2001:db8::/32", "2001:db9::/32")
    assert not holds("networks_overlap", "::/0", "0.0.0.0/0")
    assert not holds("networks_overlap", "0.0.0.0/0", "::/96")


def test_ip_in_network():
    assert holds("ip_in_network", "10.0.0.5", "10.0.0.0/24")
    assert holds("ip_in_network", "10.0.0.0", "10.0.0.0/24")
    assert holds("ip_in_network", "10.0.0.255", "10.0.0.0/24")
    assert not holds("ip_in_network", "10.0.1.0", "10.0.0.0/24")
    assert holds("ip_in_network", "10.0.0.5", "10.0.0.7/24")  # host bits in the network
    assert holds("ip_in_network", "10.0.0.5", "10.0.0.5")
    assert holds("ip_in_network", "1.2.3.4", "0.0.0.0/0")
    assert holds("ip_in_network", "2001:db8::42", "2001:db8::/64")
    assert not holds("ip_in_network", "2001:db9::42", "2001:db8::/64")
    assert not holds("ip_in_network", "1.2.3.4", "::/0")
    assert not holds("ip_in_network", "::1", "0.0.0.0/0")


@pytest.mark.parametrize("bad", ["", "10.0.0.0/33", "10.0.0.0/x", "::/129", "net", 1.5])
@pytest.mark.parametrize("name", ["networks_equal", "networks_overlap"])
def test_networks_bad_input_fails(name, bad):
    assert run(name, bad, "10.0.0.0/24") is None
    assert run(name, "10.0.0.0/24", bad) is None


def test_ip_in_network_bad_input_fails():
    assert run("ip_in_network", "10.0.0.0/24", "10.0.0.0/8") is None  # x must be an address
    assert run("ip_in_network", "bogus", "10.0.0.0/8") is None
    assert run("ip_in_network", "10.0.0.1", "10.0.0.0/40") is None
