"""`TreeExecutor`: runs a tree of nodes and lets callers watch and steer it."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid as uuid_module
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from grafo_core import events as ev
from grafo_core._executor_debugging import Debugging
from grafo_core._executor_edits import TreeEdits
from grafo_core._run import Run
from grafo_core.events import NodeState
from grafo_core.node import Node

logger = logging.getLogger(__name__)

Subscriber = Callable[[ev.Event], Any]

_run_observers: list[Callable[[TreeExecutor], Any]] = []


def observe_runs(callback: Callable[[TreeExecutor], Any]) -> Callable[[], None]:
    """Call `callback(executor)` whenever any executor is about to start a run.

    The callback runs on the run's event loop before the `RunStarted` event,
    so it can `subscribe` to the run. An exception in it is logged and the
    run goes on. Returns a function that removes the callback.
    """
    _run_observers.append(callback)

    def remove() -> None:
        if callback in _run_observers:
            _run_observers.remove(callback)

    return remove


class TreeExecutor(Debugging, TreeEdits):
    """Runs every node reachable from `roots`, each once its parents completed.

    Args:
        uuid: The executor's name; a random UUID4 string when omitted.
        description: Free text shown by tools.
        roots: The nodes that start at once.
        max_workers: The maximum number of nodes running at once, or `None`.
        stop_on_error: Whether a failed node stops the whole run (the Grafo
            behaviour). With `False`, only the failed node's descendants are
            skipped and independent branches go on.
    """

    def __init__(
        self,
        uuid: str | None = None,
        description: str = "",
        roots: list[Node[Any]] | None = None,
        *,
        max_workers: int | None = None,
        stop_on_error: bool = True,
    ) -> None:
        roots = _root_list(roots)
        for index, root in enumerate(roots):
            if not isinstance(root, Node):
                raise TypeError(
                    f"roots[{index}] must be a Node, got {type(root).__name__}: "
                    f"{root!r}; wrap the function in Node(...) first"
                )
        self._name = str(uuid) if uuid is not None else str(uuid_module.uuid4())
        self._description = description
        self._roots = roots
        self._max_workers = _check_max_workers(max_workers)
        self._stop_on_error = stop_on_error
        self._subscribers: list[Subscriber] = []
        self._errors: list[BaseException] = []
        self._run: Run | None = None
        self._breakpoints: set[str] = set()
        self._faults: dict[str, tuple[float, str | None]] = {}
        self._hold_on_error = False
        self._start_paused = False

    def __repr__(self) -> str:
        lines = [
            f"TreeExecutor(uuid={self._name!r}, description={self._description!r}, "
            f"{'running' if self._run else 'idle'})"
        ]
        for parent, child in self._edges():
            lines.append(f"  {parent.uuid} -> {child.uuid}")
        return "\n".join(lines)

    @property
    def name(self) -> str:
        """The executor's uuid."""
        return self._name

    @property
    def description(self) -> str:
        """Free text describing the tree."""
        return self._description

    @property
    def roots(self) -> list[Node[Any]]:
        """The nodes that start at once when a run begins."""
        return self._roots

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised by nodes in the current or last run, in order."""
        return self._errors

    # -- running -------------------------------------------------------------

    async def run(self) -> list[Any]:
        """Run the tree until nothing runs or is ready.

        Returns:
            In completion order, each plain node once per successful run and
            every `Chunk` that async-generator nodes yielded.
        """
        results: list[Any] = []
        await self._execute(results.append)
        return results

    async def yielding(self, latency: float = 0.2) -> AsyncIterator[Any]:
        """Run the tree, yielding the items `run()` returns as each is produced.

        `latency` is accepted for compatibility with Grafo and not used:
        items are delivered as soon as they exist, with no polling. Leaving
        the loop early stops the run and closes its async generators.
        """
        del latency
        items: deque[Any] = deque()
        loop = asyncio.get_running_loop()
        waiter: list[asyncio.Future[None] | None] = [None]

        def wake() -> None:
            future = waiter[0]
            if future is not None and not future.done():
                future.set_result(None)

        def sink(item: Any) -> None:
            items.append(item)
            wake()

        task = loop.create_task(self._execute(sink))
        task.add_done_callback(lambda _: wake())

        try:
            while True:
                while items:
                    yield items.popleft()
                if task.done():
                    break
                waiter[0] = loop.create_future()
                await waiter[0]
                waiter[0] = None
            while items:
                yield items.popleft()
            task.result()
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait({task})

    async def _execute(self, sink: Callable[[Any], Any]) -> None:
        if self._run is not None:
            raise RuntimeError(
                f"executor {self._name!r} is already running; wait for run() to "
                "return before starting it again"
            )
        self._errors = []
        for observer in tuple(_run_observers):
            try:
                observer(self)
            except Exception:
                logger.exception("run observer %r raised; ignored", observer)
        run = Run(
            self,
            sink,
            self._subscribers,
            max_workers=self._max_workers,
            stop_on_error=self._stop_on_error,
        )
        run.errors = self._errors
        self._run = run
        paused, self._start_paused = self._start_paused, False
        try:
            run.start(self._roots, paused=paused)
            await run.done
        except asyncio.CancelledError:
            run.cancelled = True
            tasks = run.cancel_all("the run was cancelled")
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            self._run = None
            run.close()
            if self._subscribers:
                run.emit(
                    ev.RunFinished(
                        self._name,
                        None,
                        time.monotonic(),
                        len(run.errors),
                        run.cancelled,
                    )
                )

    async def stop_tree(self) -> None:
        """Start no more nodes, cancel the running ones and end the run.

        Called from inside a node, it leaves that node running to its end.
        """
        run = self._run
        if run is None:
            logger.warning("stop_tree ignored: executor %r is not running", self._name)
            return
        tasks = run.cancel_all("the run was stopped by stop_tree()")
        run.check_done()
        if tasks:
            await asyncio.wait(tasks)

    def get_leaves(self) -> list[Node[Any]]:
        """Return the nodes reachable from the roots that have no children."""
        return [node for node in self._reachable() if not node._children]

    def _reachable(self) -> list[Node[Any]]:
        seen: set[Node[Any]] = set()
        order: list[Node[Any]] = []
        stack = list(reversed(self._roots))
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            order.append(node)
            stack.extend(reversed(node._children))
        return order

    def _edges(self) -> Iterable[tuple[Node[Any], Node[Any]]]:
        for node in self._reachable():
            for child in node._children:
                yield node, child

    # -- observing -----------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Send every lifecycle event of this executor's runs to `callback`.

        `callback` is called synchronously on the run's event loop with one
        `grafo_core.events.Event`. If it raises, the error is logged and the
        callback is detached. Returns a function that unsubscribes it.
        """
        if not callable(callback):
            raise TypeError(f"subscribe() needs a callable, got {callback!r}")
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    @property
    def is_running(self) -> bool:
        """Whether a run is in progress."""
        return self._run is not None

    @property
    def is_paused(self) -> bool:
        """Whether the current run is paused, or, between runs, whether the
        next run starts paused."""
        if self._run is None:
            return self._start_paused
        return self._run.paused

    @property
    def running_count(self) -> int:
        """How many nodes are running now."""
        return self._run.running if self._run is not None else 0

    def node(self, node_id: str) -> Node[Any]:
        """Return the node with uuid `node_id` in the current run's graph (or,
        between runs, among the nodes reachable from the roots)."""
        if self._run is not None:
            node = self._run.nodes.get(node_id)
        else:
            node = next((n for n in self._reachable() if n.uuid == node_id), None)
        if node is None:
            raise KeyError(
                f"no node with uuid {node_id!r} in executor {self._name!r}; "
                "check the id (uuids are case-sensitive)"
            )
        return node

    def state(self, node_id: str) -> NodeState:
        """Return the state of a node of the current run."""
        run = self._require_run("read the state of a node")
        return run.state_of(self.node(node_id))

    # -- steering ------------------------------------------------------------

    @property
    def max_workers(self) -> int | None:
        """The maximum number of nodes running at once, or `None` for no limit."""
        return self._max_workers

    @max_workers.setter
    def max_workers(self, value: int | None) -> None:
        self._max_workers = _check_max_workers(value)
        run = self._run
        if run is not None:
            run.max_workers = self._max_workers
            if run.subscribers:
                run.emit(
                    ev.MaxWorkersChanged(
                        self._name, None, time.monotonic(), self._max_workers
                    )
                )
            run.fill()

    def pause(self) -> None:
        """Start no new node until `resume()`; running nodes go on.

        Called between runs, it makes the next run start paused: the run
        sends `RunStarted` and `RunPaused` before any node starts, and its
        roots wait in the ready queue for `step()` or `resume()`.
        """
        run = self._run
        if run is None:
            self._start_paused = True
            return
        run.pause("paused by the caller")

    def resume(self) -> None:
        """Start queued nodes again after `pause()`.

        Called between runs, it undoes a `pause()` made since the last run.
        """
        run = self._run
        if run is None:
            self._start_paused = False
            return
        if not run.paused:
            return
        run.paused = False
        if run.subscribers:
            run.emit(ev.RunResumed(self._name, None, time.monotonic()))
        run.fill()
        run.check_done()

    def step(self) -> str | None:
        """Start exactly one queued node while paused; return its uuid.

        Returns `None` when no node is queued.
        """
        run = self._require_run("step")
        if not run.paused:
            logger.warning("step ignored: run %r is not paused", self._name)
            return None
        node = run.step()
        return node.uuid if node is not None else None

    def cancel(self, node: Node[Any] | str, *, reason: str = "cancelled") -> bool:
        """Cancel a queued or running node; its descendants stay waiting.

        Returns whether the node was queued or running. Other states are
        logged as a warning and left alone.
        """
        run = self._require_run("cancel")
        target = self._resolve(node)
        if run.cancel(target, reason):
            return True
        logger.warning(
            "cancel ignored: node %r is %s, not ready or running",
            target.uuid,
            run.state_of(target).value,
        )
        return False

    def _resolve(self, node: Node[Any] | str) -> Node[Any]:
        if isinstance(node, Node):
            if self._run is not None and node not in self._run.entries:
                raise KeyError(
                    f"node {node.uuid!r} is not in the graph of run {self._name!r}"
                )
            return node
        if isinstance(node, str):
            return self.node(node)
        raise TypeError(f"expected a Node or a uuid string, got {node!r}")

    def _require_run(self, action: str) -> Run:
        if self._run is None:
            raise RuntimeError(
                f"cannot {action}: executor {self._name!r} is not running; call it "
                "while run() or yielding() is in progress"
            )
        return self._run


def _root_list(roots: Any) -> list[Any]:
    """Return `roots` as a new list; raise TypeError for anything that is not
    a collection of nodes."""
    if roots is None:
        return []
    if isinstance(roots, Node):
        raise TypeError(
            f"roots must be a list of nodes, got the node {roots.uuid!r} alone; "
            "pass roots=[node]"
        )
    try:
        return list(roots)
    except TypeError:
        raise TypeError(
            f"roots must be a list of nodes, got {type(roots).__name__}: "
            f"{roots!r}; pass a list such as roots=[node]"
        ) from None


def _check_max_workers(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"max_workers must be a whole number of 1 or more, or None; got {value!r}"
        )
    return value
