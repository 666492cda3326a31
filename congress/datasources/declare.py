"""Short declarations a driver is made of: the columns of its tables and the collections it reads.

A driver is mostly a description of tables. Instead of spelling out the translator dictionaries
(see :mod:`congress.datasources.translator_format` for their format) a driver writes::

    VOLUMES = hdict("volumes",
                    col("id", "The UUID of the volume"),
                    col("size", "The size of the volume, in GiB"))

and an OpenStack driver names the REST collection behind each root table::

    COLLECTIONS = {"volumes": Collection("/volumes/detail", "volumes", {"all_tenants": 1})}

The helpers build exactly the dictionaries the translator compiler reads, so a declaration and a
hand-written translator are interchangeable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from congress.datasources.translators import DICT_SELECTOR, HDICT, LIST, VALUE

#: the translator of a plain value column
VALUE_COLUMN: Mapping[str, Any] = {"translation-type": VALUE}


def col(fieldname: str, desc: str | None = None, *,
        translator: Mapping[str, Any] | None = None, **options: Any) -> dict[str, Any]:
    """One field translator: the column ``fieldname`` (a plain value unless ``translator``
    says otherwise); ``options`` are further field-translator keys (``col``, ...)."""
    out: dict[str, Any] = {"fieldname": fieldname}
    if desc is not None:
        out["desc"] = desc
    out.update(options)
    out["translator"] = dict(translator) if translator is not None else dict(VALUE_COLUMN)
    return out


def hdict(table: str, *fields: dict[str, Any], **options: Any) -> dict[str, Any]:
    """An HDICT translator of JSON objects into table ``table`` with columns ``fields``.

    ``options`` are further translator keys, with ``_`` for ``-``: ``parent_key="id"``,
    ``in_list=True``, ``id_col="id"`` ...
    """
    out: dict[str, Any] = {"translation-type": HDICT, "table-name": table,
                           "selector-type": DICT_SELECTOR}
    out.update({k.replace("_", "-"): v for k, v in options.items()})
    out["field-translators"] = tuple(fields)
    return out


def values(table: str, val_col: str, val_col_desc: str | None = None,
           **options: Any) -> dict[str, Any]:
    """A LIST translator: each element of a JSON list is a row ``(parent key, value)`` of
    ``table``; ``options`` as for :func:`hdict` (``parent_key="id"`` ...)."""
    out: dict[str, Any] = {"translation-type": LIST, "table-name": table}
    out.update({k.replace("_", "-"): v for k, v in options.items()})
    out["val-col"] = val_col
    if val_col_desc is not None:
        out["val-col-desc"] = val_col_desc
    out["translator"] = dict(VALUE_COLUMN)
    return out


@dataclass(frozen=True)
class Collection:
    """A paginated REST collection a root table is read from: ``GET path`` answers
    ``{key: [item, ...], ...}`` (with next links when there are more pages)."""

    path: str
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)
