"""Time the translation of a nova-like server listing.

Builds, with a seeded generator, a listing shaped like ``novaclient``'s ``servers.list()``
(dicts here, so DICT_SELECTOR; ``--objects`` uses attribute objects and DOT_SELECTOR): ~11 scalar
fields, ``image``/``flavor`` dicts reduced to their id by ``extract-fn``, ``addresses``
(``{network: [{addr, version, ...}, ...]}``, flattened by ``objects-extract-fn`` into the
``servers.addresses`` sub-table) and ``tags`` (a LIST sub-table). Prints the time per size.

    .venv/bin/python benchmarks/bench_translators.py [--objects] [--repeat N] [SIZE ...]
"""

from __future__ import annotations

import argparse
import random
import time
from types import SimpleNamespace
from typing import Any

from congress.datasources.translators import (
    DICT_SELECTOR,
    DOT_SELECTOR,
    HDICT,
    LIST,
    VALUE,
    Translator,
)

STATUSES = ["ACTIVE", "SHUTOFF", "ERROR", "BUILD", "PAUSED"]
ZONES = ["nova", "az1", "az2"]


def safe_id(x: Any) -> Any:
    if isinstance(x, str):
        return x
    try:
        return x["id"]
    except Exception:
        return str(x)


def flatten_addresses(addresses: dict) -> list[dict]:
    out = []
    for network, addrs in addresses.items():
        for a in addrs:
            d = dict(a)
            d["network_name"] = network
            out.append(d)
    return out


def servers_translator(selector: str) -> dict:
    v = {"translation-type": VALUE}
    return {
        "translation-type": HDICT,
        "table-name": "servers",
        "selector-type": selector,
        "field-translators": (
            {"fieldname": "id", "desc": "The UUID for the server", "translator": v},
            {"fieldname": "name", "translator": v},
            {"fieldname": "hostId", "col": "host_id", "translator": v},
            {"fieldname": "status", "translator": v},
            {"fieldname": "tenant_id", "translator": v},
            {"fieldname": "user_id", "translator": v},
            {"fieldname": "image", "col": "image_id",
             "translator": {"translation-type": VALUE, "extract-fn": safe_id}},
            {"fieldname": "flavor", "col": "flavor_id",
             "translator": {"translation-type": VALUE, "extract-fn": safe_id}},
            {"fieldname": "OS-EXT-AZ:availability_zone", "col": "zone", "translator": v},
            {"fieldname": "OS-EXT-SRV-ATTR:hypervisor_hostname", "col": "host_name",
             "translator": v},
            {"fieldname": "created", "col": "created_at", "translator": v},
            {"fieldname": "addresses",
             "translator": {
                 "translation-type": HDICT,
                 "table-name": "servers.addresses",
                 "parent-key": "id",
                 "parent-col-name": "server_id",
                 "selector-type": DICT_SELECTOR,
                 "in-list": True,
                 "objects-extract-fn": flatten_addresses,
                 "field-translators": (
                     {"fieldname": "network_name", "translator": v},
                     {"fieldname": "addr", "col": "address", "translator": v},
                     {"fieldname": "version", "translator": v},
                     {"fieldname": "OS-EXT-IPS-MAC:mac_addr", "col": "mac_address",
                      "translator": v},
                     {"fieldname": "OS-EXT-IPS:type", "col": "address_type", "translator": v},
                 )}},
            {"fieldname": "tags",
             "translator": {"translation-type": LIST, "table-name": "tags",
                            "parent-key": "id", "parent-col-name": "server_id",
                            "val-col": "tag", "translator": v}},
        )}


def make_servers(n: int, seed: int = 42, objects: bool = False) -> list[Any]:
    rnd = random.Random(seed)

    def hexid(bits: int = 128) -> str:
        return f"{rnd.getrandbits(bits):032x}"

    servers = []
    for i in range(n):
        addresses: dict[str, list[dict]] = {}
        for net in rnd.sample(["private", "public", "mgmt"], rnd.randint(1, 2)):
            addresses[net] = [
                {"addr": f"10.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}",
                 "version": 4,
                 "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:" + ":".join(
                     f"{rnd.randint(0, 255):02x}" for _ in range(3)),
                 "OS-EXT-IPS:type": rnd.choice(["fixed", "floating"])}
                for _ in range(rnd.randint(1, 2))]
        s = {
            "id": hexid(), "name": f"vm-{i}", "hostId": hexid(), "status": rnd.choice(STATUSES),
            "tenant_id": f"tenant-{rnd.randint(0, 99)}", "user_id": f"user-{rnd.randint(0, 999)}",
            "image": {"id": f"image-{rnd.randint(0, 20)}", "links": []},
            "flavor": {"id": f"flavor-{rnd.randint(0, 8)}", "links": []},
            "OS-EXT-AZ:availability_zone": rnd.choice(ZONES),
            "OS-EXT-SRV-ATTR:hypervisor_hostname": f"compute-{rnd.randint(0, 199)}",
            "created": f"2024-01-{rnd.randint(1, 28):02d}T10:00:00Z",
            "addresses": addresses,
            "tags": rnd.sample(["web", "db", "prod", "dev", "pci"], rnd.randint(0, 3)),
        }
        if objects:
            s = SimpleNamespace(**s)
        servers.append(s)
    return servers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="*", type=int, default=[50_000, 100_000])
    ap.add_argument("--objects", action="store_true",
                    help="attribute objects + DOT_SELECTOR instead of dicts")
    ap.add_argument("--repeat", type=int, default=3, help="runs per size; best is reported")
    args = ap.parse_args()

    t0 = time.perf_counter()
    translator = Translator(servers_translator(DOT_SELECTOR if args.objects else DICT_SELECTOR))
    print(f"compile: {(time.perf_counter() - t0) * 1e3:.2f} ms")
    for n in args.sizes:
        servers = make_servers(n, objects=args.objects)
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            result = translator.translate(servers)
            best = min(best, time.perf_counter() - t0)
        counts = ", ".join(f"{t}={len(rows)}" for t, rows in result.items())
        print(f"{n:>7} servers: {best:.3f} s (best of {args.repeat})  [{counts}]")


if __name__ == "__main__":
    main()
