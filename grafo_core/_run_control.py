"""Requests from the caller to a run in progress, and how a run ends."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from grafo_core import events as ev
from grafo_core._live import live_runs
from grafo_core.events import NodeState

if TYPE_CHECKING:
    from grafo_core._run import Entry
    from grafo_core.node import Node

_monotonic = time.monotonic

WAITING = NodeState.WAITING
READY = NodeState.READY
RUNNING = NodeState.RUNNING
SUCCEEDED = NodeState.SUCCEEDED
_UNFINISHED = (NodeState.FAILED, NodeState.TIMED_OUT, NodeState.CANCELLED)


class RunControl:
    """The part of `Run` that the executor calls for the caller: cancel,
    stop, retry and release, and the checks that end the run. The methods
    use the state that `Run.__init__` sets.
    """

    def stop(self, reason: str) -> None:
        """Start no more nodes; queued ones are skipped with `reason`, and so
        are waiting ones once the run ends."""
        if not self.stopping:  # the first cause is the one worth reporting
            self.stop_reason = reason
        self.stopping = True
        self.stopped_by_failure = False
        while self.ready:
            self._skip(self.ready.popleft(), reason)

    def cancel(self, node: Node[Any], reason: str) -> bool:
        """Cancel a ready or running node; return whether anything changed."""
        entry = self.entries.get(node)
        if entry is None:
            return False
        if entry.state is RUNNING:
            if entry.task is None:
                # Called from a `NodeStarted` subscriber: the task does not
                # exist yet, and `_start` cancels it once it does.
                entry.cancel_reason = reason
                return True
            self.cancel_task(entry, reason)
            return True
        if entry.state is READY:
            self.ready.remove(entry)
            self._cancelled(entry, reason, ran=False)
            self.check_done()
            return True
        return False

    def cancel_all(self, reason: str) -> list[asyncio.Task[Any]]:
        """Stop the run and cancel every running node; return their tasks."""
        self.released = True
        self.stop(reason)
        current = asyncio.current_task()
        tasks = []
        for entry in list(self.entries.values()):
            task = entry.task
            if task is not None and task is not current:
                self.cancel(entry.node, reason)
                tasks.append(task)
        return tasks

    def check_done(self) -> None:
        """End the run when nothing runs and nothing queued can start."""
        if self.running or self.holds or self.done.done():
            return
        if self.ready and self.paused and (not self.stopping or self.retrying):
            return
        if self.executor._hold_on_error and not self.released:
            failed = self._failed_nodes()
            if failed:
                if not self.held:
                    self.held = True
                    names = ", ".join(repr(node.label) for node in failed[:3])
                    if self.subscribers:
                        self.emit(
                            ev.RunHeld(
                                self.run_id,
                                None,
                                _monotonic(),
                                f"kept open to retry {names}",
                            )
                        )
                return
        self.done.set_result(None)

    def _failed_nodes(self) -> list[Node[Any]]:
        return [
            entry.node for entry in self.entries.values() if entry.state in _UNFINISHED
        ]

    def release(self) -> None:
        """Let a held run end."""
        self.released = True
        self.check_done()

    def retry(self, node: Node[Any]) -> bool:
        """Run a failed, timed-out or cancelled node again, with the nodes that
        its failure skipped; return whether the node was in such a state.

        While another node's failure or timeout remains, only the retried node
        and its descendants that do not descend from that other node run
        again; with `stop_on_error`, the rest of the run stays stopped.
        """
        entry = self.entries.get(node)
        if entry is None or entry.state not in _UNFINISHED:
            return False
        if self.done.done():  # ended; `run()` returns on the next loop turn
            return False
        if self.stopping and not self.stopped_by_failure:
            return False
        self.held = False
        reason = f"retry of {node.label!r}"
        self._reset(entry, reason)
        others = [
            other
            for other in self.entries.values()
            if other.state is NodeState.FAILED or other.state is NodeState.TIMED_OUT
        ]
        if others:
            self._retry_within(entry, others, reason)
        else:
            self._retry_all(reason)
        self.check_done()
        return True

    def _retry_all(self, reason: str) -> None:
        """No failure is left: resume the run as if none had happened."""
        self.stopping = False
        self.stopped_by_failure = False
        self.retrying.clear()
        entries = list(self.entries.values())
        for other in entries:
            if other.state is NodeState.SKIPPED:
                self._reset(other, reason)
        for other in entries:
            if other.state is WAITING and self._can_start(other.node):
                self._make_ready(other)

    def _retry_within(self, entry: Entry, others: list[Entry], reason: str) -> None:
        """Reset `entry`'s descendants that no node of `others` blocks, and let
        them start even though the run stays stopped for the rest."""
        blocked: dict[Node[Any], Entry] = {}
        for other in others:
            for descendant in _descendants(other.node):
                blocked.setdefault(descendant, other)
        scope = [entry]
        for descendant in _descendants(entry.node):
            child_entry = self.entries.get(descendant)
            if child_entry is None:
                continue
            blocker = blocked.get(descendant)
            if blocker is not None:
                if child_entry.state is NodeState.SKIPPED:
                    # Its skip may name the retried node: name what blocks it.
                    label = blocker.node.label
                    self._skip(child_entry, f"ancestor {label!r} {_ended(blocker)}")
                continue
            if child_entry.state is NodeState.SKIPPED:
                self._reset(child_entry, reason)
            if child_entry.state is WAITING:
                scope.append(child_entry)
        if self.stopping:
            self.retrying.update(scope)
            first = others[0]
            self.stop_reason = (
                f"the run stopped after {first.node.label!r} {_ended(first)}"
            )
        if self._can_start(entry.node):
            self._make_ready(entry)

    def _can_start(self, node: Node[Any]) -> bool:
        return node in self.roots or bool(
            node._parents and self._parents_completed(node)
        )

    def _reset(self, entry: Entry, reason: str) -> None:
        entry.state = WAITING
        entry.passed_breakpoint = False
        if self.subscribers:
            self.emit(ev.NodeReset(self.run_id, entry.node.uuid, _monotonic(), reason))

    def _never_ran_reason(self, node: Node[Any]) -> str:
        if self.stopping:
            return self.stop_reason
        if not node._parents:
            return "it has no parent left"
        entries = self.entries
        for parent in node._parents:
            entry = entries.get(parent)
            if entry is None:
                return f"parent {parent.label!r} did not complete (not in this run)"
            if entry.state is not SUCCEEDED:
                shown = entry.state.value.replace("_", " ")
                return f"parent {parent.label!r} did not complete ({shown})"
        return "the run ended first"

    def close(self) -> None:
        """Stop the deadline timer and leave `live_runs`, so nodes no longer
        report edge changes here. Tell subscribers which nodes never ran."""
        self.deadlines.close()
        live_runs.discard(self)
        # Without subscribers, nothing reads these states after the run.
        if self.subscribers:
            for entry in self.entries.values():
                if entry.state is WAITING:
                    self._skip(entry, self._never_ran_reason(entry.node))


def _descendants(node: Node[Any]) -> set[Node[Any]]:
    """Return every node reachable from `node`, without `node` itself unless
    a cycle leads back to it."""
    found: set[Node[Any]] = set()
    stack = list(node._children)
    while stack:
        child = stack.pop()
        if child not in found:
            found.add(child)
            stack.extend(child._children)
    return found


def _ended(entry: Entry) -> str:
    return "timed out" if entry.state is NodeState.TIMED_OUT else "failed"
