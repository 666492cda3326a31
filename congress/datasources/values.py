"""Values as the policy engine sees them, and the column data types a translator may declare.

:func:`normalize_value` turns whatever a datasource client hands us into one of the three kinds of
value a Datalog row may hold: ``str``, ``int`` or ``float``.

A VALUE translator may declare a ``data-type`` (and ``nullable``). The type is reported in the
driver's schema (``{"name", "desc", "type", "nullable"}``) and is used to marshal each extracted
value before it is normalised (``Int`` turns ``3.0`` into ``3``, ``IPAddress`` canonicalises
addresses ...). A value the type rejects is logged and kept as it was: a declared type never makes
a poll fail. The types are the family OpenStack Congress drivers declare, so that
translators written for it work unchanged (``Scalar`` at the top, ``Str``, ``Bool``,
``Int``, ``Float``, ``UUID``, ``IPAddress``, ``IPNetwork``, plus enumerations made with
:func:`enum_type`); a translator may name one by its name (``"Int"``) or give the object itself.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable, Iterable
from typing import Any

Value = str | int | float


def normalize_value(v: Any) -> Value:
    """Return ``v`` as the engine sees it.

    ``str``, ``int`` and ``float`` are kept (subclasses become the base type), ``bool`` becomes
    ``"True"``/``"False"``, ``None`` becomes ``"None"`` and anything else (lists, dicts, dates,
    bytes ...) becomes ``str(v)``.

    Deviation from OpenStack Congress: strings keep their non-ASCII characters. It dropped
    every non-ASCII character (``"café"`` became ``"caf"``) because its engine did not handle
    Unicode; ours does, so the data is kept intact.
    """
    t = type(v)
    if t is str or t is int or t is float:
        return v
    if v is None:
        return "None"
    if t is bool:
        return "True" if v else "False"
    if isinstance(v, str):
        return str.__str__(v)
    if isinstance(v, int):
        return int.__int__(v)
    if isinstance(v, float):
        return float.__float__(v)
    return str(v)


# --------------------------------------------------------------------------- data types
class DataType:
    """A named column type: ``marshal(value)`` returns the value to store or raises ValueError.

    Every type accepts ``None`` (nullability is a separate, per-column declaration).
    ``str(t)`` is the type's name, which is what the schema reports.
    """

    __slots__ = ("name", "_check", "parent")

    def __init__(self, name: str, check: Callable[[Any], Any],
                 parent: DataType | None = None) -> None:
        self.name = name
        self._check = check
        self.parent = parent

    def marshal(self, value: Any) -> Any:
        if value is None:
            return None
        return self._check(value)

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<DataType {self.name}>"


def _scalar(v: Any) -> Any:
    if isinstance(v, (str, int, float)):   # bool is an int
        return v
    raise ValueError(f"value {v!r} is a {type(v).__name__}, not a scalar (str, int, float, bool)")


def _str(v: Any) -> Any:
    if isinstance(v, str):
        return v
    raise ValueError(f"value {v!r} is a {type(v).__name__}, not a string")


def _bool(v: Any) -> Any:
    if isinstance(v, bool):
        return v
    raise ValueError(f"value {v!r} is a {type(v).__name__}, not a boolean")


def _int(v: Any) -> Any:
    if isinstance(v, bool):
        raise ValueError(f"value {v!r} is a boolean, not an integer")
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    raise ValueError(f"value {v!r} is a {type(v).__name__}, not an integer")


def _float(v: Any) -> Any:
    if isinstance(v, bool):
        raise ValueError(f"value {v!r} is a boolean, not a float")
    if isinstance(v, float):
        return v
    if isinstance(v, int):
        return float(v)
    raise ValueError(f"value {v!r} is a {type(v).__name__}, not a float")


def _uuid(v: Any) -> Any:
    try:
        uuid.UUID(str(v))
    except ValueError:
        raise ValueError(f"value {v!r} is not a UUID") from None
    return v


def _ip_address(v: Any) -> Any:
    try:
        addr = ipaddress.ip_address(str(v))
    except ValueError:
        raise ValueError(f"value {v!r} is not an IP address") from None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def _ip_network(v: Any) -> Any:
    try:
        return str(ipaddress.ip_network(str(v)))
    except ValueError:
        raise ValueError(f"value {v!r} is not an IP network") from None


Scalar = DataType("Scalar", _scalar)
Str = DataType("Str", _str, Scalar)
Bool = DataType("Bool", _bool, Scalar)
Int = DataType("Int", _int, Scalar)
Float = DataType("Float", _float, Scalar)
UUID = DataType("UUID", _uuid, Str)
IPAddress = DataType("IPAddress", _ip_address, Str)
IPNetwork = DataType("IPNetwork", _ip_network, Str)

TYPES: dict[str, DataType] = {
    t.name: t for t in (Scalar, Str, Bool, Int, Float, UUID, IPAddress, IPNetwork)}


def enum_type(name: str, items: Iterable[Any], base: DataType = Str,
              catch_all: Any = None) -> DataType:
    """A ``base`` type restricted to ``items``.

    A value outside the domain is rejected, or replaced by ``catch_all`` when one is given.
    """
    domain = set(items)
    if catch_all is not None:
        domain.add(catch_all)
    for item in domain:
        if base.marshal(item) != item:
            raise ValueError(f"enum item {item!r} is not a valid {base.name}")

    def check(v: Any) -> Any:
        v = base.marshal(v)
        if v in domain:
            return v
        if catch_all is not None:
            return catch_all
        raise ValueError(f"value {v!r} is not one of {sorted(map(repr, domain))}")

    return DataType(name, check, base)


def resolve_data_type(spec: Any) -> Any:
    """The type object for a ``data-type`` declaration, or None if it is not one.

    Accepts a registered name (``"Int"``), a :class:`DataType`, or any object with a callable
    ``marshal`` (such as a type class written for OpenStack Congress drivers).
    """
    if isinstance(spec, str):
        return TYPES.get(spec)
    if callable(getattr(spec, "marshal", None)):
        return spec
    return None


def data_type_name(dt: Any) -> str:
    """The name the schema reports for a resolved data type."""
    if isinstance(dt, DataType):
        return dt.name
    if isinstance(dt, type):
        return dt.__name__
    return str(dt)
