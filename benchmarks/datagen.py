"""Seeded generators of benchmark data and policies (shared by the engine and API benchmarks).

*violations*: ``nova:servers`` (7 columns), ``neutron:ports`` (5), ``neutron:networks`` (4).
A port of a server sits on a network; about 10% of ports sit on a network of another tenant, and
half of those networks are not shared: those ports are violations (~10k at scale 1).

*closure*: a random directed graph (uniform random edges, no self loops).

*many rules*: a library-sized set of rules over the violations data, most of them selective
(a constant on an indexed column), some joins, negations and builtins.
"""

from __future__ import annotations

import random

SCHEMAS = {
    "nova": {"servers": ["id", "name", "host_id", "status", "tenant_id", "flavor_id",
                         "image_id"]},
    "neutron": {"ports": ["id", "device_id", "network_id", "mac_address", "ip_address"],
                "networks": ["id", "name", "tenant_id", "shared"]},
}

VIOLATIONS_POLICY = """
shared_net(n) :- neutron:networks(id=n, shared="True")
port_net_tenant(p, s, t) :- neutron:ports(id=p, device_id=s, network_id=n),
                            neutron:networks(id=n, tenant_id=t)
violation(s, p) :- nova:servers(id=s, tenant_id=t, status="ACTIVE"),
                   port_net_tenant(p, s, t2), neutron:ports(id=p, network_id=n),
                   not shared_net(n), not equal(t, t2)
"""


def violations_data(scale: float = 1.0, seed: int = 42) -> dict[tuple[str, str], list[tuple]]:
    rnd = random.Random(seed)
    n_servers = int(100_000 * scale)
    n_ports = int(200_000 * scale)
    n_networks = int(10_000 * scale)
    n_tenants = max(10, int(1000 * scale))
    statuses = ["ACTIVE"] * 8 + ["SHUTOFF", "ERROR"]
    networks = []
    nets_by_tenant: dict[str, list[str]] = {}
    for i in range(n_networks):
        tenant = f"tenant-{i % n_tenants}"
        nid = f"net-{i}"
        networks.append((nid, f"network {i}", tenant, "True" if rnd.random() < 0.5 else "False"))
        nets_by_tenant.setdefault(tenant, []).append(nid)
    servers = []
    for i in range(n_servers):
        tenant = f"tenant-{rnd.randrange(n_tenants)}"
        servers.append((f"srv-{i}", f"server {i}", f"host-{rnd.randrange(500)}",
                        rnd.choice(statuses), tenant, f"flavor-{rnd.randrange(50)}",
                        f"image-{rnd.randrange(200)}"))
    ports = []
    for i in range(n_ports):
        server = servers[i % n_servers]
        if rnd.random() < 0.1:
            net = f"net-{rnd.randrange(n_networks)}"
        else:
            net = rnd.choice(nets_by_tenant[server[4]])
        ports.append((f"port-{i}", server[0], net, f"fa:16:3e:{i >> 16 & 255:02x}:"
                      f"{i >> 8 & 255:02x}:{i & 255:02x}", f"10.{i >> 16 & 255}.{i >> 8 & 255}."
                      f"{i & 255}"))
    return {("nova", "servers"): servers, ("neutron", "ports"): ports,
            ("neutron", "networks"): networks}


def random_graph(nodes: int = 2000, edges: int = 10_000, seed: int = 7) -> list[tuple[int, int]]:
    rnd = random.Random(seed)
    out: set[tuple[int, int]] = set()
    while len(out) < edges:
        a, b = rnd.randrange(nodes), rnd.randrange(nodes)
        if a != b:
            out.add((a, b))
    return sorted(out)


CLOSURE_POLICY = """
reach(x, y) :- edge(x, y)
reach(x, z) :- reach(x, y), edge(y, z)
"""


def many_rules(count: int = 2000, seed: int = 3) -> list[str]:
    """``count`` rules in the style of a policy library over the violations tables."""
    rnd = random.Random(seed)
    rules = []
    for i in range(count):
        kind = i % 5
        if kind == 0:
            rules.append(f'bad_flavor_{i}(s) :- nova:servers(id=s, flavor_id="flavor-{i % 50}", '
                         f'status="ACTIVE")')
        elif kind == 1:
            rules.append(f'tenant_ports_{i}(p, s) :- nova:servers(id=s, tenant_id="tenant-'
                         f'{rnd.randrange(1000)}"), neutron:ports(id=p, device_id=s)')
        elif kind == 2:
            rules.append(f'private_net_{i}(n) :- neutron:networks(id=n, tenant_id="tenant-'
                         f'{rnd.randrange(1000)}", shared="False")')
        elif kind == 3:
            rules.append(f'image_host_{i}(s, h) :- nova:servers(id=s, host_id=h, image_id='
                         f'"image-{rnd.randrange(200)}"), not nova:servers(id=s, status="ERROR")')
        else:
            rules.append(f'named_{i}(s) :- nova:servers(id=s, name=nm, host_id='
                         f'"host-{rnd.randrange(500)}"), len(nm, l), gt(l, 10)')
    return rules
