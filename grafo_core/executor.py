"""`TreeExecutor`: runs a tree of nodes and lets callers watch and steer it."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid as uuid_module
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from grafo_core import _run
from grafo_core import events as ev
from grafo_core._run import Run
from grafo_core.events import NodeState
from grafo_core.introspect import await_chain
from grafo_core.node import Node

logger = logging.getLogger(__name__)

_DRIVE_CODE = Run._drive.__code__

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


class TreeExecutor:
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

    # -- debugging ---------------------------------------------------------

    @property
    def breakpoints(self) -> frozenset[str]:
        """The uuids of nodes with a breakpoint."""
        return frozenset(self._breakpoints)

    def set_breakpoint(self, node_id: str, *, enabled: bool = True) -> None:
        """Pause the run just before the node `node_id` starts, on every run of
        it, until the breakpoint is removed with ``enabled=False``. `resume()`
        or `step()` then starts it."""
        if not isinstance(node_id, str):
            raise TypeError(f"set_breakpoint() needs a node uuid, got {node_id!r}")
        if enabled:
            self._warn_if_unknown(node_id, "set_breakpoint")
            self._breakpoints.add(node_id)
        else:
            self._breakpoints.discard(node_id)

    def inject_fault(
        self, node_id: str, *, error: str | None = None, delay: float = 0.0
    ) -> None:
        """Make the next run of `node_id` take `delay` more seconds (counted in
        its timeout) and then, when `error` is given, fail with `InjectedFault`.
        """
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            raise ValueError(f"delay must be 0 or more seconds, got {delay!r}")
        if error is None and not delay:
            self._faults.pop(node_id, None)
            return
        self._warn_if_unknown(node_id, "inject_fault")
        self._faults[node_id] = (float(delay), error)

    @property
    def hold_on_error(self) -> bool:
        """Whether a run that would end with failed, timed-out or cancelled
        nodes stays open (sending `RunHeld`) until `release()`, so that
        `retry()` can still run them."""
        return self._hold_on_error

    @hold_on_error.setter
    def hold_on_error(self, value: bool) -> None:
        self._hold_on_error = bool(value)
        if not value and self._run is not None:
            self._run.check_done()

    def release(self) -> None:
        """Let a run kept open by `hold_on_error` end."""
        self._require_run("release").release()

    def retry(self, node: Node[Any] | str) -> bool:
        """Run a failed, timed-out or cancelled node again in the current run.

        The nodes its failure skipped go back to waiting, so its descendants
        run as usual once it succeeds. Returns whether the node could be
        retried; a run stopped by `stop_tree()` or cancelled cannot.
        """
        run = self._require_run("retry")
        target = self._resolve(node)
        if run.retry(target):
            return True
        if run.stopping and not run.stopped_by_failure:
            logger.warning(
                "retry ignored: run %r is stopping (stop_tree() or a cancel), "
                "so node %r cannot run again",
                self._name,
                target.uuid,
            )
            return False
        logger.warning(
            "retry ignored: node %r is %s, not failed, timed out or cancelled",
            target.uuid,
            run.state_of(target).value,
        )
        return False

    def where(self, node_id: str) -> list[tuple[str, int, str]]:
        """Return ``(file, line, function)`` for each frame of a running node,
        from its coroutine to the innermost `await` it is suspended in.

        Call it on the run's event loop. Returns an empty list for a node that
        is not running.
        """
        run = self._require_run("read where a node waits")
        node = self.node(node_id)
        task = run.task_of(node)
        if task is None:
            return []
        driver = task.get_coro()
        frame = getattr(driver, "cr_frame", None)
        if frame is None or frame.f_code is not _DRIVE_CODE:
            # A task factory wrapped the scheduler's coroutine, so skip the
            # scheduler's own frames.
            frames = await_chain(driver, node._generator)
            return [frame for frame in frames if frame[0] != _run.__file__]
        coroutine = frame.f_locals.get("coroutine")
        if coroutine is None:  # the task has not taken its first step
            code = node.coroutine.__code__
            return [(code.co_filename, code.co_firstlineno, code.co_name)]
        return await_chain(coroutine, node._generator)

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
        at once if they all have.

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
            doomed += _orphaned_descendants(target, self._roots)
        run = self._run
        if run is None:
            self._detach(doomed, None)
            return [item.uuid for item in doomed]
        run.holds += 1
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

    def _warn_if_unknown(self, node_id: str, action: str) -> None:
        """Warn when no node has uuid `node_id` yet: likely a typo, though a
        node added later with that uuid still picks the setting up."""
        try:
            self.node(node_id)
        except KeyError:
            logger.warning(
                "%s(%r): executor %r has no node with that uuid yet; it applies "
                "only if one is added later (uuids are case-sensitive)",
                action,
                node_id,
                self._name,
            )

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


def _orphaned_descendants(target: Node[Any], roots: list[Node[Any]]) -> list[Node[Any]]:
    """Return the descendants of `target` that no root reaches once `target`
    is gone, breadth-first. A cycle below `target` with no other way in goes
    too; a root never does."""
    reached: set[Node[Any]] = set()
    stack = [root for root in roots if root is not target]
    while stack:
        node = stack.pop()
        if node not in reached and node is not target:
            reached.add(node)
            stack.extend(node._children)
    order: list[Node[Any]] = []
    seen = {target}
    queue = deque(target._children)
    while queue:
        child = queue.popleft()
        if child in seen or child in reached:
            continue
        seen.add(child)
        order.append(child)
        queue.extend(child._children)
    return order
