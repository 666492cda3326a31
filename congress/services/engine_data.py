"""Datasource data in the policy engine: subscriptions, snapshots and deltas, write fences.

Datasource tables referenced by rules are subscribed on the bus; snapshots and deltas are
applied to the Runtime. A writer can wait until a datasource write it made is applied here
(:meth:`DatasourceData.wait_applied`), so that what it reads next includes it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from congress import exceptions
from congress.bus import ResyncWanted, TableUpdate
from congress.services import metrics

LOG = logging.getLogger(__name__)


class DatasourceData:
    """Datasource tables in the engine (a part of the engine service)."""

    # provided by PolicyEngineService
    node_ref: Any
    db: Any
    conf: Any
    rt: Any
    lock: Any

    def _update_subscriptions(self) -> None:
        wanted = {k for k, users in self.rt.program.consumers.items()
                  if users and k[0] in self.datasources}
        for pub, table in sorted(wanted - self.subscribed):
            self.subscribed.add((pub, table))
            self.subscribe(pub, table)
            LOG.info("subscribed to %s:%s", pub, table)
        for pub, table in sorted(self.subscribed - wanted):
            self.subscribed.discard((pub, table))
            try:
                self.unsubscribe(pub, table)
            except Exception:  # publisher gone
                LOG.debug("unsubscribe %s:%s failed", pub, table, exc_info=True)
            self.data_seqnums.pop((pub, table), None)
            self.refused_tables.discard((pub, table))
            if pub in self.rt.policies:
                self.rt.replace_table(pub, table, [])
            LOG.info("unsubscribed from %s:%s", pub, table)
        # the age of the last update is reported for datasources still subscribed to only
        for pub in set(self.data_applied_at) - {p for p, _ in self.subscribed}:
            del self.data_applied_at[pub]

    def receive_data(self, publisher_id: str, table: str, update: TableUpdate) -> None:
        """Apply a snapshot or delta of a subscribed table.

        Rows the engine refuses (rows of a width other than the table's, which the rules using
        it fixed) leave the table empty here, since what the engine held no longer matches the
        datasource, and the update counts as applied (a writer waiting for it goes on). A
        delta that follows can then not be applied to what is held: the bus is asked for a
        snapshot instead (:class:`congress.bus.ResyncWanted`), which replaces the table if its
        rows fit, and is refused the same way if they do not.
        """
        key = (publisher_id, table)
        with self.lock:
            if publisher_id not in self.rt.policies:
                return
            if not update.is_snapshot and key in self.refused_tables:
                raise ResyncWanted(f"the engine refused earlier rows of {publisher_id}:{table}")
            started = time.monotonic()
            try:
                if update.is_snapshot:
                    self.rt.replace_table(publisher_id, table, update.rows or (),
                                          normalize=False)
                else:
                    self.rt.apply_delta(publisher_id, table, update.added, update.removed,
                                        normalize=False)
            except exceptions.CongressError as e:
                LOG.error("data for %s:%s rejected: %s; the engine holds no rows of the table "
                          "until rows that fit arrive", publisher_id, table, e)
                metrics.DATA_REJECTED.labels(publisher_id).inc()
                self.rt.replace_table(publisher_id, table, ())
                self.refused_tables.add(key)
            else:
                self.refused_tables.discard(key)
            now = time.monotonic()
            metrics.DATA_SECONDS.labels(publisher_id).observe(now - started)
            self.data_applied_at[publisher_id] = now
            self.data_seqnums[(publisher_id, table)] = (update.incarnation, update.seqnum)
            self._applied.notify_all()
        LOG.debug("applied %s of %s:%s seq %d", "snapshot" if update.is_snapshot else "delta",
                  publisher_id, table, update.seqnum)

    def wait_applied(self, fence: dict[str, Any], timeout: float) -> bool:
        """Wait until this engine has applied a datasource's publications up to ``fence``
        (``publication_state()`` of the datasource, asked after a write); True once it has.

        Tables the engine does not subscribe to need nothing. A table seen in another
        incarnation of the publisher than the fence's is waited for until the engine is
        resynchronised with the fence's one. Never called with the engine lock held.
        """
        publisher = fence.get("publisher")
        incarnation = fence.get("incarnation")
        wanted = dict(fence.get("seqnums") or {})

        def applied() -> bool:
            for table, seqnum in wanted.items():
                if (publisher, table) not in self.subscribed:
                    continue
                have = self.data_seqnums.get((publisher, table))
                if have is None or have[0] != incarnation or have[1] < seqnum:
                    return False
            return True

        deadline = time.monotonic() + timeout
        node = self.node
        with self._applied:
            while True:
                remaining = deadline - time.monotonic()
                if self._applied.wait_for(applied, min(0.1, max(0.0, remaining))):
                    return True
                if remaining <= 0:
                    return False
                # the publisher died before sending what we wait for: stop holding the
                # caller's thread (an API request thread) for nothing
                if node is not None and publisher and node.service_problem(publisher):
                    return False
