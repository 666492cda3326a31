"""``benchmark``: a polling driver generating ``datarows`` rows per poll (load tests).

Table ``benchtable(field1, field2)`` with rows ``("val1_<i>", "val2_<i>")``. (OpenStack
Congress's was not registered and used an obsolete constructor; this one works.)
"""

from __future__ import annotations

from typing import Any

from congress.datasources.declare import col, hdict
from congress.datasources.driver import PollingDriver, opt

BENCHTABLE = hdict("benchtable",
    col("field1"),
    col("field2"))


class BenchmarkDriver(PollingDriver):
    DRIVER_ID = "benchmark"
    DESCRIPTION = "Benchmark driver: generates datarows rows per poll"
    CONFIG = {**PollingDriver.CONFIG,
              "datarows": opt(type="int", default=10, desc="Rows generated per poll")}
    TRANSLATORS = [BENCHTABLE]

    def fetch_benchtable(self) -> list[dict[str, Any]]:
        n = int(self.config.get("datarows", 10))
        return [{"field1": f"val1_{i}", "field2": f"val2_{i}"} for i in range(n)]
