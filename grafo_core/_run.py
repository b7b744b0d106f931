"""The scheduler for one run of a `TreeExecutor`: graph, states and tasks."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from grafo_core import _live
from grafo_core import events as ev
from grafo_core._announce import announce_nodes
from grafo_core._callables import has_lambda
from grafo_core._deadlines import Deadlines
from grafo_core._live import current_node, live_runs
from grafo_core._reach import reaches
from grafo_core._run_control import RunControl
from grafo_core._run_endings import TIMED_OUT, Endings
from grafo_core._run_graph import GraphChanges
from grafo_core.chunk import Chunk
from grafo_core.errors import NodeTimeoutError
from grafo_core.events import NodeState
from grafo_core.node import UNRESOLVED, Node

if TYPE_CHECKING:
    from grafo_core.executor import TreeExecutor

logger = logging.getLogger(__name__)

_NO_KWARGS: Mapping[str, Any] = MappingProxyType({})

# Stores into a node's slots that skip `Node.__setattr__`, which a bare
# node's run would otherwise pay twice.
_set_runtime = Node._runtime.__set__  # type: ignore[attr-defined]
_set_output = Node._output.__set__  # type: ignore[attr-defined]

# The hot path builds events with `tuple.__new__`, which skips the Python
# level `__new__` of a NamedTuple: about half the cost, measured with timeit.
_new = tuple.__new__
_monotonic = time.monotonic
_set_current_node = current_node.set

WAITING = NodeState.WAITING
READY = NodeState.READY
RUNNING = NodeState.RUNNING
SUCCEEDED = NodeState.SUCCEEDED


class Entry:
    """One node's place in one run: its state, attempt count and task.

    Calling the entry with its task records the end of a task that was
    cancelled before it could start (see `Run.cancel_task`).
    """

    __slots__ = (
        "run",
        "node",
        "state",
        "attempt",
        "task",
        "started",
        "plain",
        "cancel_reason",
        "passed_breakpoint",
        "in_graph",
    )

    def __init__(self, run: Run, node: Node[Any]) -> None:
        self.run = run
        self.node = node
        self.state = WAITING
        self.attempt = 0
        self.task: asyncio.Task[Any] | None = None
        self.started = 0.0
        self.plain = False
        self.cancel_reason: object = None
        self.passed_breakpoint = False
        self.in_graph = True

    def __call__(self, task: asyncio.Task[Any]) -> None:
        # Added as a done callback to a task that is being cancelled: if it
        # ends before its first step, `Run._drive` never began, and the end
        # is recorded here instead.
        if self.task is task:
            self.run.end(self, asyncio.CancelledError(), None)


class Run(GraphChanges, RunControl, Endings):
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
        self.entries: dict[Node[Any], Entry] = {}
        self.running = 0
        self.ready: deque[Entry] = deque()
        self.rerun: set[Entry] = set()
        # Nodes that `TreeExecutor.remove` is taking out. They never start,
        # though cutting their edges one by one can leave a node whose
        # remaining parents all completed.
        self.removing: set[Node[Any]] = set()
        # Children of completed parents waiting for an `on_before_forward`
        # transform to deliver the parent's output (see `on_edge_added`).
        self.delivering: set[Entry] = set()
        self.roots: list[Node[Any]] = []
        # Caller operations in progress (such as `remove` awaiting a cancel);
        # the run does not end while one is pending.
        self.holds = 0
        self.paused = False
        self.stopping = False
        self.stop_reason = ""
        self.stopped_by_failure = False
        # Nodes that may start while the run is stopped: a retried node and
        # its descendants, while another node's failure still stops the rest.
        self.retrying: set[Entry] = set()
        self.cancelled = False
        # Debugging aids shared with the executor, so changes apply at once.
        self.breakpoints: set[str] = executor._breakpoints
        self.faults: dict[str, tuple[float, str | None]] = executor._faults
        self.held = False
        self.released = False
        self.debug = logger.isEnabledFor(logging.DEBUG)
        self.loop = asyncio.get_running_loop()
        self.context = contextvars.copy_context()
        self.tracking = _live.tracking
        self.deadlines = Deadlines(self.loop, self._expire)
        self.done: asyncio.Future[None] = self.loop.create_future()

    # -- events --------------------------------------------------------------

    def emit(self, event: ev.Event) -> None:
        subscribers = self.subscribers
        if len(subscribers) == 1:
            subscriber = subscribers[0]
            try:
                subscriber(event)
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

    # -- reading -------------------------------------------------------------

    def state_of(self, node: Node[Any]) -> NodeState:
        return self.entries[node].state

    def task_of(self, node: Node[Any]) -> asyncio.Task[Any] | None:
        entry = self.entries.get(node)
        return entry.task if entry is not None else None

    def is_running(self, node: Node[Any]) -> bool:
        """Return whether `node` has a task in this run."""
        entry = self.entries.get(node)
        return entry is not None and entry.task is not None

    # -- graph ---------------------------------------------------------------

    def start(self, roots: list[Node[Any]], *, paused: bool = False) -> None:
        """Build the graph reachable from `roots`, announce it and start roots,
        or with `paused`, queue them."""
        for other in tuple(live_runs):
            if other.run_id == self.run_id:
                logger.warning(
                    "two executors named %r run at once, so their events carry "
                    "the same run_id and tools cannot tell them apart; give "
                    "each TreeExecutor its own uuid",
                    self.run_id,
                )
                break
        live_runs.add(self)
        self.roots = list(roots)
        if self.subscribers:
            self.emit(
                ev.RunStarted(
                    self.run_id,
                    None,
                    _monotonic(),
                    self.executor.description,
                    tuple(root.uuid for root in roots),
                    self.max_workers,
                )
            )
        if paused:
            self.pause("paused by the caller")
        self._add_subgraph(roots)
        entries = self.entries
        for root in roots:
            entry = entries[root]
            if entry.state is WAITING:
                self._make_ready(entry)
        self.check_done()

    def _add_subgraph(self, starts: Iterable[Node[Any]]) -> None:
        """Add every node reachable from `starts` that is not in the graph yet."""
        entries = self.entries
        nodes = self.nodes
        # Breadth-first, so parents tend to be announced before their
        # children. A node gets its entry when it is first reached, so a node
        # with several parents joins the queue once.
        added = []
        for node in starts:
            if node not in entries:
                entries[node] = Entry(self, node)
                added.append(node)
        for node in added:
            uuid = node.uuid
            if uuid in nodes:
                raise ValueError(
                    f"two different nodes share uuid {uuid!r} in run "
                    f"{self.run_id!r}; give each node its own uuid"
                )
            nodes[uuid] = node
            for child in node._children:
                if child not in entries:
                    entries[child] = Entry(self, child)
                    added.append(child)
        if self.subscribers:
            announce_nodes(self, added)

    # -- scheduling ----------------------------------------------------------

    def _make_ready(self, entry: Entry) -> None:
        """Start a node whose parents all completed, or queue it when the run
        is paused or at its worker limit."""
        if self.stopping and entry not in self.retrying:
            return
        if self.delivering and entry in self.delivering:
            return
        if self.removing and entry.node in self.removing:
            return
        if self.paused or (
            self.max_workers is not None and self.running >= self.max_workers
        ):
            self._enqueue(entry)
        elif self.breakpoints:
            self._launch(entry)
        else:
            self._start(entry)

    def _enqueue(self, entry: Entry, *, first: bool = False) -> None:
        """Put a node in the ready queue; only a node that waits there sends
        `NodeQueued`, one that starts at once goes straight to running."""
        if entry.state is not READY:
            entry.state = READY
            if self.subscribers:
                self.emit(ev.NodeQueued(self.run_id, entry.node.uuid, _monotonic()))
        if first:
            self.ready.appendleft(entry)
        else:
            self.ready.append(entry)

    def _launch(self, entry: Entry) -> None:
        """Start a node, unless it has a breakpoint: then pause in front of it."""
        uuid = entry.node.uuid
        if self.breakpoints and uuid in self.breakpoints:
            if not entry.passed_breakpoint:
                entry.passed_breakpoint = True
                self._enqueue(entry, first=True)
                self.pause(f"breakpoint on {entry.node.label!r}", uuid)
                return
            entry.passed_breakpoint = False
        self._start(entry)

    def pause(self, reason: str, node_id: str | None = None) -> None:
        """Start no new node until `resume`."""
        if self.paused:
            return
        self.paused = True
        if self.subscribers:
            self.emit(ev.RunPaused(self.run_id, node_id, _monotonic(), reason))

    def fill(self) -> None:
        """Start queued nodes while the run is not paused and under its limit."""
        ready = self.ready
        while ready and not self.paused and (not self.stopping or self.retrying):
            if self.max_workers is not None and self.running >= self.max_workers:
                break
            self._launch(ready.popleft())

    def step(self) -> Node[Any] | None:
        """Start the first queued node, paused or not; return it or `None`."""
        if not self.ready or (self.stopping and not self.retrying):
            return None
        entry = self.ready.popleft()
        entry.passed_breakpoint = False
        self._start(entry)
        return entry.node

    def _start(self, entry: Entry) -> None:
        node = entry.node
        attempt = entry.attempt = entry.attempt + 1
        entry.state = RUNNING
        entry.cancel_reason = None
        now = entry.started = _monotonic()
        fault = self.faults.pop(node.uuid, None) if self.faults else None
        if node._checker is UNRESOLVED:
            node.resolve_checker()
        kwargs = node.kwargs
        plain = entry.plain = (
            node._bare and fault is None and (not kwargs or not has_lambda(kwargs))
        )
        if plain:
            # The common case awaits the user's coroutine with no wrapper
            # of `Node.execute`, and does the bookkeeping in `end`.
            function = node.coroutine
            arguments = kwargs
            subscribers = self.subscribers
            if subscribers:
                event = _new(
                    ev.NodeStarted,
                    (
                        self.run_id,
                        node.uuid,
                        now,
                        attempt,
                        dict(kwargs) if kwargs else _NO_KWARGS,
                    ),
                )
                if len(subscribers) == 1:  # `emit`, inlined
                    try:
                        subscribers[0](event)
                    except Exception:
                        self._detach(subscribers[0], event)
                else:
                    self.emit(event)
        else:
            on_chunk = self._chunk_handler(node) if node._is_generator else None
            on_call = self._start_announcer(node, attempt) if self.subscribers else None
            function = node.execute
            arguments = {
                "on_chunk": on_chunk,
                "on_call": on_call,
                "fault": fault,
                "timed": False,
            }
        self.running += 1
        # Each node runs in a copy of the run's context, not in the context of
        # the node whose end started it. Naming the task after the node shows
        # the node in `asyncio.all_tasks()`, and asyncio then formats no
        # "Task-N" name.
        task = self.loop.create_task(
            self._drive(entry, function, arguments),
            name=node.uuid,
            context=self.context.copy(),
        )
        # NOTE: this eager-factory path is tested only on Python 3.12 and
        # later, so CI, which runs 3.11, skips that test.
        if task.done():
            return  # an eager task factory ran the node to its end just now
        entry.task = task
        timeout = node.timeout
        if timeout is not None:
            self.deadlines.add(timeout, now, entry, attempt)
        if entry.cancel_reason is not None:  # a subscriber cancelled it
            self.cancel_task(entry, entry.cancel_reason)

    def _start_announcer(
        self, node: Node[Any], attempt: int
    ) -> Callable[[dict[str, Any]], None]:
        def announce(kwargs: dict[str, Any]) -> None:
            self.emit(
                ev.NodeStarted(
                    self.run_id, node.uuid, _monotonic(), attempt, dict(kwargs)
                )
            )

        return announce

    async def _drive(
        self, entry: Entry, function: Callable[..., Any], arguments: dict[str, Any]
    ) -> None:
        """Run a node's coroutine in the node's task and record the outcome
        there. A done callback would cost a loop turn and a handle per node.

        The coroutine is made here, not by the caller, so a task cancelled
        before its first step leaves no coroutine that was never awaited.
        """
        if self.tracking:
            _set_current_node(entry.node.uuid)
        try:
            coroutine = function(**arguments) if arguments else function()
            output = await coroutine
            if entry.plain and entry.node._forward:
                # Node code connected a forwarding child while the node ran
                # bare: deliver before the node counts as succeeded, as a run
                # through `execute` does.
                _set_output(entry.node, output)
                await entry.node._forward_output(output)
        except (Exception, asyncio.CancelledError) as error:
            self.end(entry, error, None)
        except BaseException as error:
            task = entry.task
            self.end(entry, error, None)
            if isinstance(error, KeyboardInterrupt | SystemExit):
                # Raised from a callback, they still stop the event loop.
                # Raised here, they left an exception in the task that no
                # one retrieved, and on Python 3.11 later `ast.parse` calls on
                # the thread failed ("AST constructor recursion depth
                # mismatch").
                self.loop.call_soon(_raise, error)
            elif (
                isinstance(error, GeneratorExit) and asyncio.current_task() is not task
            ):
                raise  # the task is being closed, not run, so let it close
        else:
            self.end(entry, None, output)

    def end(self, entry: Entry, error: BaseException | None, output: Any) -> None:
        """Record how a node's run ended and start what that allows."""
        self.running -= 1
        entry.task = None
        now = _monotonic()
        if entry.plain:
            _set_runtime(entry.node, now - entry.started)
        if entry.in_graph:
            if error is None:
                if entry.plain:
                    _set_output(entry.node, output)
                self._succeeded(entry, output, now)
            elif isinstance(error, asyncio.CancelledError):
                reason = entry.cancel_reason
                if reason is None:
                    # Nobody asked for this cancel: the node's own code raised
                    # CancelledError, which counts as a failure.
                    self._failed(entry, error, timed_out=False)
                elif reason is TIMED_OUT:
                    node = entry.node
                    timeout_error = NodeTimeoutError(
                        f"node {node.uuid!r} timed out after {node.timeout} s"
                    )
                    self._failed(entry, timeout_error, timed_out=True)
                else:
                    self._cancelled(entry, str(reason))
            else:  # any other error is the node's failure
                self._failed(entry, error, timed_out=False)
            if self.rerun and entry in self.rerun:
                self.rerun.discard(entry)
                if entry.state is SUCCEEDED:
                    self._make_ready(entry)
        if self.ready:
            self.fill()
        if not self.running:
            self.check_done()

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
                    _new(
                        ev.ChunkEmitted,
                        (run_id, uuid, _monotonic(), count, chunk.output),
                    )
                )
            count += 1

        return on_chunk

    def _succeeded(self, entry: Entry, output: Any, now: float) -> None:
        node = entry.node
        entry.state = SUCCEEDED
        if not node._is_generator:
            self.sink(node)
        subscribers = self.subscribers
        if subscribers:
            chunks = len(output) if node._is_generator else 0
            event = _new(
                ev.NodeSucceeded,
                (self.run_id, node.uuid, now, now - entry.started, output, chunks),
            )
            if len(subscribers) == 1:  # `emit`, inlined
                try:
                    subscribers[0](event)
                except Exception:
                    self._detach(subscribers[0], event)
            else:
                self.emit(event)
        if self.debug:
            logger.debug("node %r succeeded", node.uuid)
        # Starting a child never runs node code at once, so the children
        # list cannot change while this loop walks it.
        entries = self.entries
        for child in node._children:
            child_entry = entries.get(child)
            if child_entry is None:
                continue
            state = child_entry.state
            if state is WAITING:
                # `_parents_completed`, inlined: this loop runs for every
                # edge of the graph.
                for parent in child._parents:
                    parent_entry = entries.get(parent)
                    if parent_entry is None or parent_entry.state is not SUCCEEDED:
                        break
                else:
                    self._make_ready(child_entry)
            elif state is RUNNING or state is SUCCEEDED:
                # A node runs again when a parent completes again after it
                # finished, or when this completion closes a cycle (an edge
                # back to an ancestor, connected while it ran).
                if entry.attempt > 1 or reaches(child, node):
                    if state is RUNNING:
                        self.rerun.add(child_entry)
                    else:
                        self._make_ready(child_entry)


def _raise(error: BaseException) -> None:
    raise error
