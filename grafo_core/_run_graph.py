"""Changes to a run's graph while it runs: edges added or removed, nodes left
without edges."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from grafo_core import events as ev
from grafo_core._reach import orphaned_descendants
from grafo_core.events import NodeState

if TYPE_CHECKING:
    from grafo_core._forwarding import ForwardRule
    from grafo_core._run import Entry
    from grafo_core.node import Node

_monotonic = time.monotonic

WAITING = NodeState.WAITING
READY = NodeState.READY
SUCCEEDED = NodeState.SUCCEEDED


class GraphChanges:
    """The part of `Run` that takes graph changes into a run in progress.

    Nodes call `on_edge_added` and `on_edge_removed` for each run that
    contains them, so a change made by node code, a callback or the caller takes
    effect at once. The methods use the state that `Run.__init__` sets.
    """

    def check_can_link(self, child: Node[Any]) -> None:
        """Raise if `child` would bring a second node with a taken uuid."""
        if self.done.done():
            return
        existing = self.nodes.get(child.uuid)
        if existing is not None and existing is not child:
            raise ValueError(
                f"a different node with uuid {child.uuid!r} is already in run "
                f"{self.run_id!r}; give the new node another uuid"
            )

    def on_edge_added(
        self, parent: Node[Any], child: Node[Any], forward: str | None
    ) -> None:
        """Take a new edge into the graph; start the child if it can start."""
        if self.done.done():
            return
        entry = self.entries.get(child)
        if entry is None:
            self._add_subgraph([child])
            entry = self.entries[child]
        elif self.subscribers:
            self.emit(
                ev.EdgeAdded(
                    self.run_id, child.uuid, _monotonic(), parent.uuid, forward
                )
            )
        rule = parent._forward.get(child) if forward is not None else None
        if rule is not None and self._completed(parent):
            self._deliver(parent, entry, rule)
        if entry.state is WAITING and self._parents_completed(child):
            self._make_ready(entry)
            self.check_done()
        elif entry.state is READY and child not in self.roots:
            if not self._parents_completed(child):
                self._unready(entry, f"new parent {parent.label!r} has not completed")

    def on_edge_removed(self, parent: Node[Any], child: Node[Any]) -> None:
        """Drop an edge; a child whose other parents all completed starts."""
        if self.done.done():
            return
        entry = self.entries.get(child)
        if entry is None:
            return
        if self.subscribers:
            self.emit(
                ev.EdgeRemoved(self.run_id, child.uuid, _monotonic(), parent.uuid)
            )
        if entry.state is WAITING and child._parents and self._parents_completed(child):
            self._make_ready(entry)
            self.check_done()
        elif entry.state is READY and not child._parents and child not in self.roots:
            self._unready(entry, "no parent left")

    def _unready(self, entry: Entry, reason: str) -> None:
        """Send a queued node back to waiting: its parents changed."""
        if entry in self.ready:
            self.ready.remove(entry)
        self._reset(entry, reason)

    def _completed(self, node: Node[Any]) -> bool:
        entry = self.entries.get(node)
        return entry is not None and entry.state is SUCCEEDED

    def _deliver(self, parent: Node[Any], entry: Entry, rule: ForwardRule) -> None:
        """Forward the output of a parent that completed before the edge to
        `entry`'s node existed, as its completion would have."""
        value = parent._last_result()
        if rule.transform is None:
            entry.node.kwargs[rule.name] = value
            return
        # The transform is async: the child waits for it, and so does the end
        # of the run.
        self.delivering.add(entry)
        self.holds += 1
        task = self.loop.create_task(parent._forward_to(entry.node, rule, value))

        def delivered(task: asyncio.Task[None]) -> None:
            self.delivering.discard(entry)
            self.holds -= 1
            if entry.in_graph:
                error = None if task.cancelled() else task.exception()
                if error is not None:  # the child cannot run without its value
                    entry.started = _monotonic()
                    self._failed(entry, error, timed_out=False)
                elif entry.state is WAITING and self._parents_completed(entry.node):
                    self._make_ready(entry)
            self.check_done()

        task.add_done_callback(delivered)

    def _parents_completed(self, node: Node[Any]) -> bool:
        # A parent that is running again (in a cycle) has not completed its
        # current run, so a child connected meanwhile waits for that run.
        return all(self._completed(parent) for parent in node._parents)

    def drop_if_cut_off(self, node: Node[Any]) -> None:
        """Take `node` and what only it led to out of the graph, when no root
        reaches it any more and none of them has started: a `connect` that
        added it failed and took its edge back."""
        if node not in self.entries or node._parents or node in self.roots:
            return
        doomed = [node, *orphaned_descendants(node, self.roots)]
        entries = self.entries
        if any(
            entries[item].state is not WAITING for item in doomed if item in entries
        ):
            return
        for item in doomed:
            if item in entries:
                self.forget(item)

    def forget(self, node: Node[Any]) -> None:
        """Remove a node with no edges left from the graph."""
        del self.nodes[node.uuid]
        entry = self.entries.pop(node)
        entry.in_graph = False
        if entry in self.ready:
            self.ready.remove(entry)
        self.rerun.discard(entry)
        if node in self.roots:
            self.roots.remove(node)
        if self.subscribers:
            self.emit(ev.NodeRemoved(self.run_id, node.uuid, _monotonic()))
