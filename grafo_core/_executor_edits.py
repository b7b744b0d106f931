"""Adding nodes to a tree and removing them from it, during a run or not."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from grafo_core._reach import orphaned_descendants
from grafo_core._run import Run
from grafo_core.node import Node


class TreeEdits:
    """The part of `TreeExecutor` that changes its graph. The methods use the
    state that `TreeExecutor.__init__` sets."""

    _name: str
    _run: Run | None
    _roots: list[Node[Any]]

    async def add(
        self,
        node: Node[Any],
        *,
        parents: Iterable[Node[Any] | str],
        forward: Any = None,
        on_before_forward: Any = None,
    ) -> None:
        """Connect a new node under each of `parents` (nodes or uuids).

        During a run the node starts as soon as every parent has completed,
        at once if they all have. `forward` and `on_before_forward` apply to
        the edge from the first parent only, as two parents writing into one
        parameter would overwrite each other.

        Raises:
            TypeError: `node` is not a Node.
            ValueError: `parents` is empty, or the uuid is already taken.
            KeyError: A parent uuid is not in the graph.
        """
        if not isinstance(node, Node):
            raise TypeError(f"add() needs a Node, got {type(node).__name__}: {node!r}")
        parent_nodes = [self._resolve(parent) for parent in parents]
        if not parent_nodes:
            raise ValueError(
                f"add() of node {node.uuid!r} needs at least one parent; to add a "
                "root, pass it in roots= before the run"
            )
        known = self._run.nodes if self._run else {n.uuid: n for n in self._reachable()}
        if node.uuid in known:
            raise ValueError(
                f"a node with uuid {node.uuid!r} is already in executor "
                f"{self._name!r}; give the new node another uuid"
            )
        for index, parent in enumerate(parent_nodes):
            await parent.connect(
                node,
                forward=forward,
                on_before_forward=on_before_forward,
            )
            if index == 0 and forward is not None:
                # The first edge wrote nothing yet, but a second rule into
                # the same parameter would override it: forward only once.
                forward = None
                on_before_forward = None

    async def remove(
        self, node: Node[Any] | str, *, cascade: bool = False
    ) -> list[str]:
        """Remove a node from the tree, cancelling it first if it runs.

        Args:
            node: The node or its uuid.
            cascade: Also remove the descendants that no root reaches once
                the node is gone, as they could never run.

        Returns:
            The uuids removed, the node first.

        Raises:
            KeyError: The node is not in the graph.
        """
        target = self._resolve(node)
        doomed = [target]
        if cascade:
            doomed += orphaned_descendants(target, self._roots)
        run = self._run
        if run is None:
            self._detach(doomed, None)
            return [item.uuid for item in doomed]
        run.holds += 1
        run.removing.update(doomed)
        try:
            tasks = []
            for item in doomed:
                task = run.task_of(item)
                cancelled = run.cancel(item, "removed")
                if (
                    cancelled
                    and task is not None
                    and task is not asyncio.current_task()
                ):
                    tasks.append(task)
            if tasks:
                await asyncio.wait(tasks)
            self._detach(doomed, run)
        finally:
            run.removing.difference_update(doomed)
            run.holds -= 1
            run.check_done()
        return [item.uuid for item in doomed]

    def _detach(self, doomed: list[Node[Any]], run: Run | None) -> None:
        for item in doomed:
            for parent in list(item._parents):
                parent._unlink(item)
            for child in list(item._children):
                item._unlink(child)
            if item in self._roots:
                self._roots.remove(item)
            if run is not None and item in run.entries:
                run.forget(item)
