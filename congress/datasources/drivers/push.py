"""``push``: a generic push datasource with one table, ``data``, of any width.

``PUT /v1/data-sources/<ds>/tables/data/rows`` with ``[[v11, v12, ...], [v21, ...], ...]``
replaces the table. OpenStack Congress declared ``data`` with no columns, so rules using it failed
the arity check; here the width is inferred from the data: it is the width of the rows the table
holds (or, while it is empty, of the first pushed row), every row of a push must have it
(400 otherwise), and pushing ``[]`` empties the table so the next push may change it. The
schema reports the inferred columns as ``col0``, ``col1`` ...

Deviation: pushing to another table is 400 (OpenStack Congress ignored it with a warning).
"""

from __future__ import annotations

from typing import Any

from congress import exceptions, gcpause
from congress.datasources.driver import PushDriver, normalized_row, opt


class PushDataDriver(PushDriver):
    DRIVER_ID = "push"
    DESCRIPTION = "Datasource driver that allows external systems to push data."
    CONFIG = {
        "description": opt(required=True, desc="What the pushed data is"),
        "persist_data": opt(type="bool", default=False,
                            desc="Store pushed rows in the database and restore them"),
    }
    SCHEMA = {"data": []}
    TABLE = "data"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.width: int | None = None
        super().__init__(*args, **kwargs)

    def restored_tables(self, stored: dict[str, list[Any]]) -> None:
        rows = stored.get(self.TABLE) or []
        if rows:
            self.width = len(rows[0])

    def replace_table(self, table: str, rows: Any) -> None:
        if table != self.TABLE:
            raise exceptions.BadRequest(
                f"translator: {table} is not in the datasource driver (the push driver's "
                f"only table is {self.TABLE})", code="table_not_found")
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise exceptions.BadRequest(
                f"Rows of table {self.TABLE} must be a JSON array of arrays")
        with gcpause.paused(), self._lock:
            width = self.width if self._state[self.TABLE] else None
            if width is None and rows:
                width = len(rows[0])
            for i, row in enumerate(rows):
                if len(row) != width:
                    raise exceptions.BadRequest(
                        f"Row {i} of table {self.TABLE} has {len(row)} values; table "
                        f"{self.TABLE} has {width} columns", code="wrong_row_width",
                        data={"table": self.TABLE, "width": width})
                for v in row:
                    if isinstance(v, (dict, list)):
                        raise exceptions.BadRequest(
                            f"Row {i} of table {self.TABLE}: values must be strings, numbers, "
                            "booleans or null")
            self.commit({self.TABLE: {normalized_row(r) for r in rows}})
            self.width = width if rows else None

    def _columns(self) -> list[dict[str, Any]]:
        return [{"name": f"col{i}", "desc": "inferred from the pushed data"}
                for i in range(self.width or 0)]

    def get_schema(self) -> dict[str, Any]:
        return {"tables": [{"table_id": self.TABLE,
                            "columns": [{"name": c["name"], "description": c["desc"]}
                                        for c in self._columns()]}]}

    def get_table_spec(self, table: str) -> dict[str, Any]:
        spec = super().get_table_spec(table)
        spec["columns"] = self.get_schema()["tables"][0]["columns"]
        return spec
