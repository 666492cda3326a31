"""How the policy engine writes a change: group commits in one DB transaction per batch.

A change is written and applied in one step: inside the DB transaction (which takes the next
policy revision and holds the revision row lock until commit) the engine first applies every
change other engines committed before it, then applies its own to the Runtime (a rejected
change rolls the transaction back and leaves the Runtime untouched), then commits and tells the
other engines. Concurrent changes are grouped into one transaction; if one of them fails the
batch is rolled back and written one by one.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from congress.bus import engine_client
from congress.db import api as db_api
from congress.db import policies as db_policies
from congress.services import metrics

LOG = logging.getLogger(__name__)


class ChangeWriter:
    """Writing policy changes (a part of the engine service)."""

    # provided by PolicyEngineService
    node_ref: Any
    db: Any
    conf: Any
    rt: Any
    lock: Any

    def _change(self, apply: Any) -> Any:
        """Run ``apply(conn)`` in a DB transaction, under the engine lock, with catch-up.

        ``apply`` writes rows (taking revisions) and applies the same change to the Runtime,
        returning ``(result, undo)``. A failure rolls its part back and leaves the Runtime as it
        was; a failed commit runs ``undo``. Deadlocks are retried.

        Group commit: changes requested while another one is being written queue up, and the
        thread that gets the engine lock next writes all queued changes in one transaction
        (if one of them is refused, the batch is rolled back and its changes are written one
        by one, so the refused one gets its error and the others go through). Under
        concurrent writers this replaces one commit per change by one per batch.
        """
        started = time.monotonic()
        item = PendingChange(apply)
        with self._queue_lock:
            self._queue.append(item)
        attempts = 0
        while True:
            with self.lock:
                if not item.done:
                    with self._queue_lock:
                        batch, self._queue = self._queue, []
                    if batch:
                        retry = self._write_batch(batch)
                        if retry:
                            attempts += 1
                            if attempts > 5:
                                for it in retry:
                                    it.finish(error=retry[it])
                            else:
                                with self._queue_lock:
                                    self._queue[:0] = list(retry)
                                time.sleep(0.05 * attempts)
                                continue
            if item.done:
                break
        metrics.CHANGE_SECONDS.observe(time.monotonic() - started)
        if item.error is not None:
            raise item.error
        if item.revision is not None:
            self._broadcast_change(item.revision)
        return item.result

    def _write_batch(self, batch: list[PendingChange]) -> dict[PendingChange, Exception]:
        """Write queued changes in one transaction; returns those to retry (deadlocks)."""
        undos: list[Any] = []
        applied: list[tuple[PendingChange, Any]] = []
        try:
            with self.db.transaction() as conn:
                # changes other engines committed first (their revisions are lower); the row
                # lock keeps anyone else from committing until we are done
                if db_policies.lock_revision(conn) != self.policy_revision:
                    changes = db_policies.changes_since(conn, self.policy_revision)
                    if changes:
                        self._apply_changes(conn, changes)
                for item in batch:
                    try:
                        result, undo = item.apply(conn)
                    except (db_api.DBDeadlock, db_api.DBConnectionError):
                        raise
                    except Exception as e:
                        if len(batch) == 1:
                            raise
                        raise BatchRejected() from e
                    undos.append(undo)
                    applied.append((item, result))
                revision = db_policies.current_revision(conn)
        except Exception as e:
            # nothing of the batch is committed: take its changes out of the Runtime
            for undo in reversed(undos):
                undo()
            pending = [item for item in batch if not item.done]
            if isinstance(e, BatchRejected):
                # one change was refused: write each on its own, so the refused one gets its
                # error and the others go through
                retry: dict[PendingChange, Exception] = {}
                for item in pending:
                    retry.update(self._write_batch([item]))
                return retry
            if isinstance(e, (db_api.DBDeadlock, db_api.DBConnectionError)):
                return dict.fromkeys(pending, e)
            for item in pending:
                item.finish(error=e)
            return {}
        self.policy_revision = max(self.policy_revision, revision)
        self._update_subscriptions()
        for item, result in applied:
            item.finish(result=result, revision=revision)
        return {}

    def _broadcast_change(self, revision: int) -> None:
        try:
            engine_client.announce_policy_change(self.node_ref, revision=revision,
                                                 origin=self.node_id)
        except Exception:  # peers catch up from heartbeats and the periodic sync
            LOG.warning("could not broadcast policy change %d", revision, exc_info=True)


class BatchRejected(Exception):
    """A change of a group commit failed: the batch is rolled back and written one by one."""


class PendingChange:
    """One change waiting for (or written by) a group commit."""

    __slots__ = ("apply", "done", "result", "error", "revision")

    def __init__(self, apply: Any) -> None:
        self.apply = apply
        self.done = False
        self.result: Any = None
        self.error: Exception | None = None
        self.revision: int | None = None

    def finish(self, result: Any = None, error: Exception | None = None,
               revision: int | None = None) -> None:
        self.result, self.error, self.revision = result, error, revision
        self.done = True
