"""Prometheus metrics of the policy engines of this process (default registry, served by the
API's ``/metrics``): evaluation time of policy changes and datasource updates, rows per policy,
age of each datasource's last applied update, action requests."""

from __future__ import annotations

import datetime
import time
import weakref
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from congress.bus import metrics as bus_metrics

_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

CHANGE_SECONDS = Histogram(
    "congress_engine_change_seconds",
    "Policy and rule changes, database write and evaluation (seconds).", buckets=_BUCKETS)
DATA_SECONDS = Histogram(
    "congress_engine_data_update_seconds",
    "Evaluation of datasource updates by the engine, by datasource (seconds).",
    ["datasource"], buckets=_BUCKETS)
DATA_REJECTED = Counter(
    "congress_engine_data_rejected_total", "Datasource updates the engine could not apply.",
    ["datasource"])
ACTIONS = Counter(
    "congress_actions_total",
    "Actions derived by execute[...] rules or asked through the API, by outcome "
    "(requested, not_executed, failed).", ["service", "outcome"])

#: the outcomes ACTIONS counts
_OUTCOMES = ("requested", "not_executed", "failed")


def forget_datasource(name: str) -> None:
    """Drop the series labelled with datasource ``name`` (deleted): a cloud that creates and
    deletes datasources under new names would otherwise keep a histogram or counter per name
    ever used, in every process, and scrape them all for good. A datasource created again
    under the name starts its series afresh."""
    series = [(DATA_SECONDS, (name,)), (DATA_REJECTED, (name,)),
              (bus_metrics.RPC_SECONDS, (name,)), (bus_metrics.RPC_TIMEOUTS, (name,)),
              (bus_metrics.RPC_REFUSED, (name,))]
    series += [(ACTIONS, (name, outcome)) for outcome in _OUTCOMES]
    for metric, labels in series:
        try:
            metric.remove(*labels)
        except KeyError:        # never observed: older prometheus_client (0.16, Debian 12) raises
            pass


_ENGINES: weakref.WeakSet[Any] = weakref.WeakSet()
_MANAGERS: weakref.WeakSet[Any] = weakref.WeakSet()


def track(engine: Any) -> None:
    """Report rows and data ages of ``engine`` (a PolicyEngineService) at every scrape."""
    _ENGINES.add(engine)


def track_datasources(manager: Any) -> None:
    """Report the polls of the drivers ``manager`` (a DatasourceManager) runs."""
    _MANAGERS.add(manager)


def _age(text: Any, now: datetime.datetime) -> float | None:
    """Seconds since a driver's ``last_updated`` (``str`` of a naive UTC datetime)."""
    try:
        return (now - datetime.datetime.fromisoformat(str(text))).total_seconds()
    except ValueError:
        return None


class _EngineCollector:
    def collect(self) -> Iterator[GaugeMetricFamily]:
        rows = GaugeMetricFamily("congress_policy_rows",
                                 "Rows (derived and facts) of each policy's tables.",
                                 labels=["node", "policy"])
        age = GaugeMetricFamily("congress_datasource_update_age_seconds",
                                "Seconds since the engine applied an update of a datasource.",
                                labels=["node", "datasource"])
        now = time.monotonic()
        for engine in list(_ENGINES):
            per_policy: dict[str, int] = {}
            for key, rel in list(engine.rt.program.relations.items()):
                per_policy[key[0]] = per_policy.get(key[0], 0) + len(rel.rows)
            for policy, count in sorted(per_policy.items()):
                rows.add_metric([engine.node_id, policy], count)
            for datasource, when in sorted(dict(engine.data_applied_at).items()):
                age.add_metric([engine.node_id, datasource], now - when)
        yield rows
        yield age
        yield from self._datasources()

    @staticmethod
    def _datasources() -> Iterator[GaugeMetricFamily]:
        updates = GaugeMetricFamily(
            "congress_datasource_updates",
            "Polls (or pushes) a driver running in this process completed.", labels=["name"])
        failing = GaugeMetricFamily(
            "congress_datasource_failing",
            "1 while the last poll of a driver running in this process failed.",
            labels=["name"])
        age = GaugeMetricFamily(
            "congress_datasource_poll_age_seconds",
            "Seconds since a driver running in this process last completed a poll or push.",
            labels=["name"])
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        for manager in list(_MANAGERS):
            for name, service in sorted(manager.running_services().items()):
                updates.add_metric([name], float(getattr(service, "number_of_updates", 0)))
                failing.add_metric([name], 1.0 if getattr(service, "last_error", None) else 0.0)
                seconds = _age(getattr(service, "last_updated", None), now)
                if seconds is not None:
                    age.add_metric([name], seconds)
        yield updates
        yield failing
        yield age


REGISTRY.register(_EngineCollector())
