"""The ends of a node's run other than success: failure, timeout, cancel,
and the skips that a failure or a stop causes."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from grafo_core import events as ev
from grafo_core.events import NodeState

if TYPE_CHECKING:
    from grafo_core._run import Entry
    from grafo_core.node import Node

logger = logging.getLogger("grafo_core._run")

_monotonic = time.monotonic

WAITING = NodeState.WAITING
READY = NodeState.READY

TIMED_OUT = object()
"""The cancel reason recorded for a node past its timeout."""


class Endings:
    """The part of `Run` that records failures, timeouts, cancels and skips.
    The methods use the state that `Run.__init__` sets."""

    def cancel_task(self, entry: Entry, reason: object) -> None:
        """Cancel the running task of `entry`, giving `reason` as the cause."""
        task = entry.task
        assert task is not None
        entry.cancel_reason = reason
        # If the task ends before its first step, `_drive` never begins, so
        # the entry records the end. A task that something else cancelled
        # that way (asyncio.run's shutdown) is already done, and the callback
        # runs at once.
        task.add_done_callback(entry)
        if reason is TIMED_OUT:
            task.cancel()
        else:
            task.cancel(str(reason))

    def _expire(self, entry: Entry, attempt: int) -> None:
        task = entry.task
        if task is None or entry.attempt != attempt:
            return
        if entry.cancel_reason is not None:
            return
        if _not_started(task):
            # The deadline passed before the node's first step (a timeout of
            # 0, or a long turn of the loop). The step comes first, as under
            # `asyncio.timeout`: check again after it.
            self.loop.call_soon(self._expire, entry, attempt)
        else:
            self.cancel_task(entry, TIMED_OUT)

    def _failed(self, entry: Entry, error: BaseException, *, timed_out: bool) -> None:
        node = entry.node
        self.errors.append(error)
        now = _monotonic()
        duration = now - entry.started
        if timed_out:
            entry.state = NodeState.TIMED_OUT
            if self.subscribers:
                self.emit(
                    ev.NodeTimedOut(
                        self.run_id, node.uuid, now, duration, node.timeout or 0.0
                    )
                )
        else:
            entry.state = NodeState.FAILED
            if self.subscribers:
                self.emit(ev.NodeFailed(self.run_id, node.uuid, now, duration, error))
        logger.debug("node %r failed: %r", node.uuid, error)
        ended = "timed out" if timed_out else "failed"
        self._skip_descendants(node, f"ancestor {node.label!r} {ended}")
        if self.stop_on_error:
            self.stop(f"the run stopped after {node.label!r} {ended}")
            self.stopped_by_failure = True

    def _cancelled(self, entry: Entry, reason: str, *, ran: bool = True) -> None:
        entry.state = NodeState.CANCELLED
        entry.passed_breakpoint = False
        if self.subscribers:
            now = _monotonic()
            duration = now - entry.started if ran else 0.0
            self.emit(
                ev.NodeCancelled(self.run_id, entry.node.uuid, now, duration, reason)
            )
        logger.debug("node %r cancelled: %s", entry.node.uuid, reason)

    def _skip(self, entry: Entry, reason: str) -> None:
        entry.state = NodeState.SKIPPED
        entry.passed_breakpoint = False
        if self.subscribers:
            self.emit(
                ev.NodeSkipped(self.run_id, entry.node.uuid, _monotonic(), reason)
            )

    def _skip_descendants(self, node: Node[Any], reason: str) -> None:
        entries = self.entries
        seen = {node}
        # Breadth-first, so the skips come in the children's order.
        queue = deque(node._children)
        while queue:
            child = queue.popleft()
            if child in seen:
                continue
            seen.add(child)
            entry = entries.get(child)
            if entry is not None and entry.state in (WAITING, READY):
                if entry in self.ready:
                    self.ready.remove(entry)
                self._skip(entry, reason)
            queue.extend(child._children)


def _not_started(task: asyncio.Task[Any]) -> bool:
    coroutine = task.get_coro()
    return (
        inspect.iscoroutine(coroutine)
        and inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED
    )
