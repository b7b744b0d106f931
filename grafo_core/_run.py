"""The scheduler for one run of a `TreeExecutor`: graph, states and tasks."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from grafo_core import events as ev
from grafo_core.chunk import Chunk
from grafo_core.events import NodeState
from grafo_core.node import UNRESOLVED, Node, NodeTimeoutError

if TYPE_CHECKING:
    from grafo_core.executor import TreeExecutor

logger = logging.getLogger(__name__)

# Uuid of the node whose coroutine owns each running frame, for all runs in
# the process; `grafo_core.introspect.node_of_frame` reads it from any thread.
running_frames: dict[Any, str] = {}

_NO_KWARGS: Mapping[str, Any] = MappingProxyType({})

_TIMED_OUT = object()
"""The cancel reason `_expire_deadlines` records for a node past its timeout."""

WAITING = NodeState.WAITING
READY = NodeState.READY
RUNNING = NodeState.RUNNING
SUCCEEDED = NodeState.SUCCEEDED


def _node_description(node: Node[Any]) -> tuple[str, str, str, str]:
    """Return a node's label, function name, module and source location.

    Cached on the node, since they depend only on its uuid and function.
    """
    cached = node._description
    if cached is not None and cached[0] is node.coroutine and cached[1] == node.uuid:
        return cached[2]
    function = node.coroutine
    code = getattr(function, "__code__", None)
    source = f"{code.co_filename}:{code.co_firstlineno}" if code is not None else ""
    description = (
        node.label,
        getattr(function, "__qualname__", repr(function)),
        getattr(function, "__module__", "") or "",
        source,
    )
    object.__setattr__(node, "_description", (function, node.uuid, description))
    return description


class Run:
    """State of one run: which nodes are in the graph, their states and tasks.

    Every method runs on the run's event loop. Nodes tell the run about edge
    changes through `on_edge_added` and `on_edge_removed`, so a change made
    by node code, a callback or the caller takes effect at once.
    """

    def __init__(
        self,
        executor: TreeExecutor,
        sink: Callable[[Any], Any],
        subscribers: list[Callable[[ev.Event], Any]],
        *,
        max_workers: int | None,
        stop_on_error: bool,
    ) -> None:
        self.executor = executor
        self.run_id = executor.name
        self.sink = sink
        self.subscribers = subscribers
        self.max_workers = max_workers
        self.stop_on_error = stop_on_error
        self.errors: list[BaseException] = []
        self.nodes: dict[str, Node[Any]] = {}
        self.states: dict[Node[Any], NodeState] = {}
        self.attempts: dict[Node[Any], int] = {}
        self.tasks: dict[Node[Any], asyncio.Task[Any]] = {}
        # Per task: its node, start time, whether it is the bare coroutine,
        # and the coroutine's frame (the key in `running_frames`).
        self.task_info: dict[asyncio.Task[Any], tuple[Node[Any], float, bool, Any]] = {}
        # Per timeout value, (deadline, node, attempt) in deadline order.
        self.deadlines: dict[float, deque[tuple[float, Node[Any], int]]] = {}
        self.timer: asyncio.TimerHandle | None = None
        self.timer_when = 0.0
        self.ready: deque[Node[Any]] = deque()
        self.rerun: set[Node[Any]] = set()
        self.cancel_reasons: dict[Node[Any], object] = {}
        self.roots: list[Node[Any]] = []
        # Caller operations in progress (such as `remove` awaiting a cancel);
        # the run does not end while one is pending.
        self.holds = 0
        self.paused = False
        self.stopping = False
        self.stop_reason = ""
        self.stopped_by_failure = False
        self.cancelled = False
        # Debugging aids shared with the executor, so changes apply at once.
        self.breakpoints: set[str] = executor._breakpoints
        self.faults: dict[str, tuple[float, str | None]] = executor._faults
        self.passed_breakpoint: set[Node[Any]] = set()
        self.held = False
        self.released = False
        self.debug = logger.isEnabledFor(logging.DEBUG)
        self.loop = asyncio.get_running_loop()
        self.done: asyncio.Future[None] = self.loop.create_future()

    # -- events --------------------------------------------------------------

    def emit(self, event: ev.Event) -> None:
        subscribers = self.subscribers
        if len(subscribers) == 1:
            subscriber = subscribers[0]
            try:
                subscriber(event)
                return
            except Exception:
                self._detach(subscriber, event)
                return
        for subscriber in tuple(subscribers):
            try:
                subscriber(event)
            except Exception:
                self._detach(subscriber, event)

    def _detach(self, subscriber: Callable[[ev.Event], Any], event: ev.Event) -> None:
        logger.exception(
            "subscriber %r raised on %s and was detached",
            subscriber,
            type(event).__name__,
        )
        if subscriber in self.subscribers:
            self.subscribers.remove(subscriber)

    # -- graph ---------------------------------------------------------------

    def start(self, roots: list[Node[Any]]) -> None:
        """Build the graph reachable from `roots`, announce it and start roots."""
        self.roots = list(roots)
        if self.subscribers:
            self.emit(
                ev.RunStarted(
                    self.run_id,
                    None,
                    time.monotonic(),
                    self.executor.description,
                    tuple(root.uuid for root in roots),
                    self.max_workers,
                )
            )
        self._add_subgraph(roots)
        for root in roots:
            if self.states[root] is WAITING:
                self._make_ready(root)
        self.check_done()

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

    def _add_subgraph(self, starts: Iterable[Node[Any]]) -> None:
        """Add every node reachable from `starts` that is not in the graph yet."""
        added: list[Node[Any]] = []
        states = self.states
        nodes = self.nodes
        # Breadth-first, so parents are announced before their children.
        queue = [node for node in starts if node not in states]
        for node in queue:
            if node in states:
                continue
            uuid = node.uuid
            if uuid in nodes:
                raise ValueError(
                    f"two different nodes share uuid {uuid!r} in run "
                    f"{self.run_id!r}; give each node its own uuid"
                )
            nodes[uuid] = node
            states[node] = WAITING
            node._runs.append(self)
            added.append(node)
            for child in node._children:
                if child not in states:
                    queue.append(child)
        if not self.subscribers:
            return
        now = time.monotonic()
        root_set = set(self.roots)
        # Each edge follows the NodeAdded of its later end, so a consumer
        # that applies events in batches never sees a node without its
        # parents once they are known.
        run_id = self.run_id
        emit = self.emit
        pending = set(added)
        for node in added:
            label, name, module, source = _node_description(node)
            emit(
                ev.NodeAdded(
                    run_id,
                    node.uuid,
                    now,
                    label,
                    name,
                    node._is_generator,
                    node in root_set,
                    node.timeout,
                    module,
                    source,
                )
            )
            pending.discard(node)
            for parent in node._parents:
                if parent in states and parent not in pending:
                    self._emit_edge(parent, node, now)
            for child in node._children:
                if child in states and child not in pending and child is not node:
                    self._emit_edge(node, child, now)

    def _emit_edge(self, parent: Node[Any], child: Node[Any], now: float) -> None:
        rule = parent._forward.get(child)
        self.emit(
            ev.EdgeAdded(
                self.run_id, child.uuid, now, parent.uuid, rule.name if rule else None
            )
        )

    def on_edge_added(
        self, parent: Node[Any], child: Node[Any], forward: str | None
    ) -> None:
        """Take a new edge into the graph; start the child if it can start."""
        if self.done.done():
            return
        if child not in self.states:
            self._add_subgraph([child])
        elif self.subscribers:
            self.emit(
                ev.EdgeAdded(
                    self.run_id, child.uuid, time.monotonic(), parent.uuid, forward
                )
            )
        state = self.states[child]
        if state is WAITING and self._parents_completed(child):
            self._make_ready(child)
            self.check_done()
        elif state is READY and child not in self.roots:
            if not self._parents_completed(child):
                self._unready(child, f"new parent {parent.label!r} has not completed")

    def on_edge_removed(self, parent: Node[Any], child: Node[Any]) -> None:
        """Drop an edge; a child whose other parents all completed starts."""
        if self.done.done() or child not in self.states:
            return
        if self.subscribers:
            self.emit(
                ev.EdgeRemoved(self.run_id, child.uuid, time.monotonic(), parent.uuid)
            )
        state = self.states[child]
        if state is WAITING and child._parents and self._parents_completed(child):
            self._make_ready(child)
            self.check_done()
        elif state is READY and not child._parents and child not in self.roots:
            self._unready(child, "no parent left")

    def _unready(self, node: Node[Any], reason: str) -> None:
        """Send a queued node back to waiting: its parents changed."""
        if node in self.ready:
            self.ready.remove(node)
        self._reset(node, reason)

    def is_running(self, node: Node[Any]) -> bool:
        """Return whether `node` has a task in this run."""
        return node in self.tasks

    def _parents_completed(self, node: Node[Any]) -> bool:
        # A parent that is running again (in a cycle) has not completed its
        # current run, so a child connected meanwhile waits for that run.
        states = self.states
        for parent in node._parents:
            if states.get(parent) is not SUCCEEDED:
                return False
        return True

    def forget(self, node: Node[Any]) -> None:
        """Remove a node with no edges left from the graph."""
        del self.nodes[node.uuid]
        del self.states[node]
        if node in self.ready:
            self.ready.remove(node)
        self.rerun.discard(node)
        if node in self.roots:
            self.roots.remove(node)
        if self in node._runs:
            node._runs.remove(self)
        if self.subscribers:
            self.emit(ev.NodeRemoved(self.run_id, node.uuid, time.monotonic()))

    # -- scheduling ----------------------------------------------------------

    def _make_ready(self, node: Node[Any]) -> None:
        if self.stopping:
            return
        self.states[node] = READY
        if self.subscribers:
            self.emit(ev.NodeQueued(self.run_id, node.uuid, time.monotonic()))
        if self.paused or (
            self.max_workers is not None and len(self.tasks) >= self.max_workers
        ):
            self.ready.append(node)
        elif self.breakpoints:
            self._launch(node)
        else:
            self._start(node)

    def _launch(self, node: Node[Any]) -> None:
        """Start `node`, unless it has a breakpoint: then pause in front of it."""
        if self.breakpoints and node.uuid in self.breakpoints:
            if node not in self.passed_breakpoint:
                self.passed_breakpoint.add(node)
                self.ready.appendleft(node)
                self.pause(f"breakpoint on {node.label!r}", node.uuid)
                return
            self.passed_breakpoint.discard(node)
        self._start(node)

    def pause(self, reason: str, node_id: str | None = None) -> None:
        """Start no new node until `resume`."""
        if self.paused:
            return
        self.paused = True
        if self.subscribers:
            self.emit(ev.RunPaused(self.run_id, node_id, time.monotonic(), reason))

    def fill(self) -> None:
        """Start queued nodes while the run is not paused and under its limit."""
        ready = self.ready
        while ready and not self.paused and not self.stopping:
            if self.max_workers is not None and len(self.tasks) >= self.max_workers:
                break
            self._launch(ready.popleft())

    def step(self) -> Node[Any] | None:
        """Start the first queued node, paused or not; return it or `None`."""
        if not self.ready or self.stopping:
            return None
        node = self.ready.popleft()
        self.passed_breakpoint.discard(node)
        self._start(node)
        return node

    def _start(self, node: Node[Any]) -> None:
        attempt = self.attempts.get(node, 0) + 1
        self.attempts[node] = attempt
        self.states[node] = RUNNING
        now = time.monotonic()
        fault = self.faults.pop(node.uuid, None) if self.faults else None
        if node._checker is UNRESOLVED:
            node.resolve_checker()
        plain = fault is None and node.is_plain_call()
        if plain:
            # The common case runs the user's coroutine as the task itself,
            # with no wrapper frame, and does the bookkeeping in `_on_done`.
            kwargs = node.kwargs
            try:
                coroutine = node.coroutine(**kwargs)
            except Exception as exc:  # arguments that do not fit the function
                self._failed(node, exc, now, timed_out=False)
                return
            if self.subscribers:
                self.emit(
                    ev.NodeStarted(
                        self.run_id,
                        node.uuid,
                        now,
                        attempt,
                        dict(kwargs) if kwargs else _NO_KWARGS,
                    )
                )
        else:
            on_chunk = self._chunk_handler(node) if node._is_generator else None
            on_call = self._start_announcer(node, attempt) if self.subscribers else None
            coroutine = node.execute(on_chunk, on_call, fault=fault, timed=False)
        task = self.loop.create_task(coroutine)
        frame = coroutine.cr_frame
        running_frames[frame] = node.uuid
        self.tasks[node] = task
        self.task_info[task] = (node, now, plain, frame)
        task.add_done_callback(self._on_done)
        if node.timeout is not None:
            self._arm_deadline(node, attempt, now)

    def _start_announcer(
        self, node: Node[Any], attempt: int
    ) -> Callable[[dict[str, Any]], None]:
        def announce(kwargs: dict[str, Any]) -> None:
            self.emit(
                ev.NodeStarted(
                    self.run_id, node.uuid, time.monotonic(), attempt, dict(kwargs)
                )
            )

        return announce

    def _on_done(self, task: asyncio.Task[Any]) -> None:
        node, started, plain, frame = self.task_info.pop(task)
        running_frames.pop(frame, None)
        if self.tasks.get(node) is task:
            del self.tasks[node]
        now = time.monotonic()
        if plain:
            object.__setattr__(node, "_runtime", now - started)
        reason = self.cancel_reasons.pop(node, None) if self.cancel_reasons else None
        if task.cancelled():
            if node in self.states:
                if reason is None:
                    # Nobody asked for this cancel: the node's own code raised
                    # CancelledError, which counts as a failure.
                    try:
                        task.result()
                    except asyncio.CancelledError as error:
                        self._failed(node, error, started, timed_out=False)
                elif reason is _TIMED_OUT:
                    error = NodeTimeoutError(
                        f"node {node.uuid!r} timed out after {node.timeout} s"
                    )
                    self._failed(node, error, started, timed_out=True)
                else:
                    self._cancelled(node, reason, started)
        else:
            error = task.exception()
            if node in self.states:
                if error is None:
                    output = task.result()
                    if plain:
                        object.__setattr__(node, "_output", output)
                    self._succeeded(node, output, started, now)
                else:
                    self._failed(node, error, started, timed_out=False)
        if node in self.rerun:
            self.rerun.discard(node)
            if self.states.get(node) is SUCCEEDED:
                self._make_ready(node)
        if self.ready:
            self.fill()
        if not self.tasks:
            self.check_done()

    def _arm_deadline(self, node: Node[Any], attempt: int, now: float) -> None:
        # One timer per run, set for the earliest deadline, is far cheaper
        # than a timer per node (asyncio.timeout). Nodes with the same timeout
        # get deadlines in start order, so one FIFO queue per timeout value
        # stays sorted without a heap.
        timeout = node.timeout
        queue = self.deadlines.get(timeout)
        if queue is None:
            queue = self.deadlines[timeout] = deque()
        deadline = now + timeout
        queue.append((deadline, node, attempt))
        if self.timer is None or deadline < self.timer_when:
            if self.timer is not None:
                self.timer.cancel()
            self.timer_when = deadline
            self.timer = self.loop.call_at(deadline, self._expire_deadlines)

    def _expire_deadlines(self) -> None:
        self.timer = None
        now = self.loop.time()
        earliest = None
        for timeout, queue in list(self.deadlines.items()):
            while queue and queue[0][0] <= now:
                _, node, attempt = queue.popleft()
                task = self.tasks.get(node)
                if (
                    task is not None
                    and self.attempts.get(node) == attempt
                    and node not in self.cancel_reasons
                ):
                    self.cancel_reasons[node] = _TIMED_OUT
                    task.cancel()
            if not queue:
                del self.deadlines[timeout]
            elif earliest is None or queue[0][0] < earliest:
                earliest = queue[0][0]
        if earliest is not None:
            self.timer_when = earliest
            self.timer = self.loop.call_at(earliest, self._expire_deadlines)

    def _chunk_handler(self, node: Node[Any]) -> Callable[[Chunk[Any]], None]:
        sink = self.sink
        subscribers = self.subscribers
        run_id = self.run_id
        uuid = node.uuid
        count = 0

        def on_chunk(chunk: Chunk[Any]) -> None:
            nonlocal count
            sink(chunk)
            if subscribers:
                self.emit(
                    ev.ChunkEmitted(run_id, uuid, time.monotonic(), count, chunk.output)
                )
            count += 1

        return on_chunk

    def _succeeded(
        self, node: Node[Any], output: Any, started: float, now: float
    ) -> None:
        self.states[node] = SUCCEEDED
        if not node._is_generator:
            self.sink(node)
        if self.subscribers:
            chunks = len(output) if node._is_generator else 0
            self.emit(
                ev.NodeSucceeded(
                    self.run_id, node.uuid, now, now - started, output, chunks
                )
            )
        if self.debug:
            logger.debug("node %r succeeded", node.uuid)
        # Starting a child never runs node code at once, so the children
        # list cannot change while this loop walks it.
        states = self.states
        for child in node._children:
            state = states.get(child)
            if state is WAITING:
                for parent in child._parents:
                    if states.get(parent) is not SUCCEEDED:
                        break
                else:
                    self._make_ready(child)
            elif state is RUNNING:
                if self._reaches(child, node):
                    self.rerun.add(child)
            elif state is SUCCEEDED and self._reaches(child, node):
                self._make_ready(child)

    @staticmethod
    def _reaches(start: Node[Any], target: Node[Any]) -> bool:
        """Return whether `target` is reachable from `start`, so an edge from
        `target` to `start` closes a cycle."""
        seen = {start}
        stack = [start]
        while stack:
            for child in stack.pop()._children:
                if child is target:
                    return True
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return False

    def _failed(
        self,
        node: Node[Any],
        error: BaseException,
        started: float,
        *,
        timed_out: bool,
    ) -> None:
        self.errors.append(error)
        now = time.monotonic()
        if timed_out:
            self.states[node] = NodeState.TIMED_OUT
            if self.subscribers:
                self.emit(
                    ev.NodeTimedOut(
                        self.run_id, node.uuid, now, now - started, node.timeout or 0.0
                    )
                )
        else:
            self.states[node] = NodeState.FAILED
            if self.subscribers:
                self.emit(
                    ev.NodeFailed(self.run_id, node.uuid, now, now - started, error)
                )
        logger.debug("node %r failed: %r", node.uuid, error)
        self._skip_descendants(node, f"ancestor {node.label!r} failed")
        if self.stop_on_error:
            self.stop(f"the run stopped after {node.label!r} failed")
            self.stopped_by_failure = True

    def _cancelled(self, node: Node[Any], reason: str, started: float) -> None:
        self.states[node] = NodeState.CANCELLED
        if self.subscribers:
            now = time.monotonic()
            self.emit(
                ev.NodeCancelled(self.run_id, node.uuid, now, now - started, reason)
            )
        logger.debug("node %r cancelled: %s", node.uuid, reason)

    def _skip(self, node: Node[Any], reason: str) -> None:
        self.states[node] = NodeState.SKIPPED
        if self.subscribers:
            self.emit(ev.NodeSkipped(self.run_id, node.uuid, time.monotonic(), reason))

    def _skip_descendants(self, node: Node[Any], reason: str) -> None:
        seen = {node}
        stack = list(node._children)
        while stack:
            child = stack.pop()
            if child in seen:
                continue
            seen.add(child)
            if self.states.get(child) in (WAITING, READY):
                if child in self.ready:
                    self.ready.remove(child)
                self._skip(child, reason)
            stack.extend(child._children)

    def stop(self, reason: str) -> None:
        """Start no more nodes; queued ones are skipped with `reason`, and so
        are waiting ones once the run ends."""
        if not self.stopping:  # the first cause is the one worth reporting
            self.stop_reason = reason
        self.stopping = True
        self.stopped_by_failure = False
        while self.ready:
            self._skip(self.ready.popleft(), reason)

    # -- caller control ------------------------------------------------------

    def cancel(self, node: Node[Any], reason: str) -> bool:
        """Cancel a ready or running node; return whether anything changed."""
        state = self.states.get(node)
        if state is RUNNING:
            task = self.tasks.get(node)
            if task is None:
                return False
            self.cancel_reasons[node] = reason
            task.cancel(reason)
            return True
        if state is READY:
            self.ready.remove(node)
            self._cancelled(node, reason, time.monotonic())
            self.check_done()
            return True
        return False

    def cancel_all(self, reason: str) -> list[asyncio.Task[None]]:
        """Stop the run and cancel every running node; return their tasks."""
        self.released = True
        self.stop(reason)
        current = asyncio.current_task()
        tasks = []
        for node, task in list(self.tasks.items()):
            if task is not current:
                self.cancel(node, reason)
                tasks.append(task)
        return tasks

    def check_done(self) -> None:
        """End the run when nothing runs and nothing queued can start."""
        if self.tasks or self.holds or self.done.done():
            return
        if self.ready and self.paused and not self.stopping:
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
                                time.monotonic(),
                                f"kept open to retry {names}",
                            )
                        )
                return
        self.done.set_result(None)

    def _failed_nodes(self) -> list[Node[Any]]:
        unfinished = (NodeState.FAILED, NodeState.TIMED_OUT, NodeState.CANCELLED)
        return [node for node, state in self.states.items() if state in unfinished]

    def release(self) -> None:
        """Let a held run end."""
        self.released = True
        self.check_done()

    def retry(self, node: Node[Any]) -> bool:
        """Run a failed, timed-out or cancelled node again, with the nodes that
        its failure skipped; return whether the node was in such a state."""
        if self.states.get(node) not in (
            NodeState.FAILED,
            NodeState.TIMED_OUT,
            NodeState.CANCELLED,
        ):
            return False
        if self.stopping and not self.stopped_by_failure:
            return False
        self.stopping = False
        self.stopped_by_failure = False
        self.held = False
        reason = f"retry of {node.label!r}"
        self._reset(node, reason)
        for other, state in list(self.states.items()):
            if state is NodeState.SKIPPED:
                self._reset(other, reason)
        for other, state in list(self.states.items()):
            if state is WAITING and (
                other in self.roots
                or (other._parents and self._parents_completed(other))
            ):
                self._make_ready(other)
        self.check_done()
        return True

    def _reset(self, node: Node[Any], reason: str) -> None:
        self.states[node] = WAITING
        if self.subscribers:
            self.emit(ev.NodeReset(self.run_id, node.uuid, time.monotonic(), reason))

    def _never_ran_reason(self, node: Node[Any]) -> str:
        if self.stopping:
            return self.stop_reason
        if not node._parents:
            return "it has no parent left"
        for parent in node._parents:
            state = self.states.get(parent)
            if state is not SUCCEEDED:
                shown = state.value.replace("_", " ") if state else "not in this run"
                return f"parent {parent.label!r} did not complete ({shown})"
        return "the run ended first"

    def close(self) -> None:
        """Skip what can no longer run and detach from every node."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        # Whatever still waits now will never run in this run: say why.
        for node, state in list(self.states.items()):
            if state is WAITING:
                self._skip(node, self._never_ran_reason(node))
        for node in self.states:
            if self in node._runs:
                node._runs.remove(self)
