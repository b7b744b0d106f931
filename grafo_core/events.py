"""Lifecycle events that a `TreeExecutor` sends to its subscribers."""

from __future__ import annotations

import abc
import enum
import reprlib
from collections.abc import Mapping
from itertools import islice
from typing import Any, NamedTuple


class OrderedRepr(reprlib.Repr):
    """A `reprlib.Repr` that writes a dict's keys in insertion order.

    `reprlib.Repr` sorts them, so a value built as ``{"sku": ..., "quantity":
    ...}`` would read in an order it never had. Sets stay sorted: they have
    no order of their own.
    """

    def repr_dict(self, x: dict[Any, Any], level: int) -> str:
        if not x:
            return "{}"
        if level <= 0:
            return "{" + self.fillvalue + "}"
        pieces = [
            f"{self.repr1(key, level - 1)}: {self.repr1(value, level - 1)}"
            for key, value in islice(x.items(), self.maxdict)
        ]
        if len(x) > self.maxdict:
            pieces.append(self.fillvalue)
        return "{" + ", ".join(pieces) + "}"


_REPR = OrderedRepr()  # Python 3.11's Repr takes no keyword arguments
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlist = 8
_REPR.maxdict = 6
_REPR.maxlevel = 3


def short_repr(value: Any, limit: int = 120) -> str:
    """Return a repr of `value` cut to about `limit` characters.

    A `__repr__` that raises gives reprlib's ``<TYPE instance at 0x...>``.
    """
    try:
        text = _REPR.repr(value)
    except Exception as exc:  # reprlib catches most; this is a last resort
        return f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


class NodeState(enum.Enum):
    """State of one node in one run."""

    WAITING = "waiting"
    """In the run's graph, but some parent has not completed yet."""
    READY = "ready"
    """Every parent completed; queued until the run starts it."""
    RUNNING = "running"
    """Its coroutine or async generator is executing."""
    SUCCEEDED = "succeeded"
    """Its last run returned, forwarded its output and ran `on_after_run`."""
    FAILED = "failed"
    """Its last run raised an exception."""
    TIMED_OUT = "timed_out"
    """Its last run took longer than the node's timeout."""
    CANCELLED = "cancelled"
    """Its run was cancelled by the caller (`TreeExecutor.cancel` or `remove`)."""
    SKIPPED = "skipped"
    """It will not run because an ancestor failed or the run stopped."""

    @property
    def is_finished(self) -> bool:
        """Whether the state is final for the node's current run."""
        return self in _FINISHED


_FINISHED = frozenset(
    {
        NodeState.SUCCEEDED,
        NodeState.FAILED,
        NodeState.TIMED_OUT,
        NodeState.CANCELLED,
        NodeState.SKIPPED,
    }
)


class Event(abc.ABC):  # noqa: B024 (a marker base: the events register with it)
    """Base of every event: which run, which node, and when.

    Each event is a `typing.NamedTuple` registered as a virtual subclass, so
    ``isinstance(event, Event)`` holds and building one is cheap. Every event
    starts with these fields:

    Attributes:
        run_id: The `TreeExecutor.name` of the run that sent the event.
        node_id: The uuid of the node concerned, or `None` for run-wide events.
        time: `time.monotonic()` when the change happened, in seconds.
    """

    run_id: str
    node_id: str | None
    time: float


class RunStarted(NamedTuple):
    """A run began. A `NodeAdded` event for each node of its graph follows."""

    run_id: str
    node_id: str | None
    time: float

    description: str
    root_ids: tuple[str, ...]
    max_workers: int | None


class RunFinished(NamedTuple):
    """A run ended: nothing is running or ready, or the caller stopped it.

    `cancelled` is true when the task awaiting the run was cancelled or the
    consumer of `yielding()` left early.
    """

    run_id: str
    node_id: str | None
    time: float

    error_count: int
    cancelled: bool


class RunPaused(NamedTuple):
    """No new node starts until resumed: `TreeExecutor.pause()` was called, or
    a node with a breakpoint was about to start (then `node_id` names it)."""

    run_id: str
    node_id: str | None
    time: float

    reason: str = "paused by the caller"


class RunHeld(NamedTuple):
    """Nothing runs or is queued, but the run is kept open (`hold_on_error`)
    so the caller can retry nodes; `TreeExecutor.release()` ends it."""

    run_id: str
    node_id: str | None
    time: float

    reason: str


class RunResumed(NamedTuple):
    """`TreeExecutor.resume()` took effect."""

    run_id: str
    node_id: str | None
    time: float


class MaxWorkersChanged(NamedTuple):
    """The limit on concurrently running nodes changed (`None`: no limit)."""

    run_id: str
    node_id: str | None
    time: float

    max_workers: int | None


class NodeAdded(NamedTuple):
    """A node joined the run's graph, in state `WAITING` unless it is a root.

    Attributes:
        label: A readable name: the uuid when the caller chose it, else the
            coroutine's name and the uuid's first 8 characters.
        name: The qualified name of the node's coroutine function.
        is_generator: Whether the node runs an async generator function.
        is_root: Whether the node is one of the executor's roots.
        timeout: The node's timeout in seconds, or `None`.
        module: `__module__` of the coroutine function.
        source: ``"file:line"`` where the coroutine function is defined, or "".
        parent_ids: The parents already in the graph: each is an edge into
            this node, sent here instead of as an `EdgeAdded`. An edge from
            a parent added later comes as an `EdgeAdded` after that parent's
            `NodeAdded`.
        forwards: ``(parent_id, parameter)`` for each edge of `parent_ids`
            that writes the parent's output into a parameter (see
            `EdgeAdded.forward`); edges that pass no data are not listed.
        node_class: The qualified name of the node's class: ``"Node"``, or a
            subclass's name.
        declared_type: For a typed node (``Node[int](...)``), the type its
            values are checked against, as written (``"int"``,
            ``"str | None"``); "" for an untyped node.
    """

    run_id: str
    node_id: str | None
    time: float

    label: str
    name: str
    is_generator: bool
    is_root: bool
    timeout: float | None
    module: str
    source: str
    parent_ids: tuple[str, ...] = ()
    forwards: tuple[tuple[str, str], ...] = ()
    node_class: str = "Node"
    declared_type: str = ""

    def forward_from(self, parent_id: str) -> str | None:
        """Return the parameter the edge from `parent_id` forwards into."""
        for source, parameter in self.forwards:
            if source == parent_id:
                return parameter
        return None


class NodeRemoved(NamedTuple):
    """A node left the run's graph; its edges were removed first."""

    run_id: str
    node_id: str | None
    time: float


class EdgeAdded(NamedTuple):
    """An edge `parent_id -> node_id` exists in the run's graph.

    `forward` is the parameter name the parent's output is written to, or
    `None` when the edge passes no data.
    """

    run_id: str
    node_id: str | None
    time: float

    parent_id: str
    forward: str | None


class EdgeRemoved(NamedTuple):
    """The edge `parent_id -> node_id` was removed."""

    run_id: str
    node_id: str | None
    time: float

    parent_id: str


class NodeQueued(NamedTuple):
    """Every parent completed, but the node cannot start yet: the run is
    paused, at its `max_workers` limit, or at a breakpoint on the node.

    A node that can start as soon as its parents complete goes from waiting
    to running; its `NodeStarted` is its first event after `NodeAdded`.
    """

    run_id: str
    node_id: str | None
    time: float


class NodeStarted(NamedTuple):
    """The node's coroutine is about to be called (after `on_before_run`).

    The node counts as running from the moment it leaves the ready queue, so
    a failure in `on_before_run` can end it before this event is sent.

    Attributes:
        attempt: 1 for the node's first run in this run, 2 for the next, ...
        kwargs: A copy of the arguments passed: forwarded values included and
            lambdas replaced by their results.
    """

    run_id: str
    node_id: str | None
    time: float

    attempt: int
    kwargs: Mapping[str, Any]

    def kwargs_reprs(self, limit: int = 120) -> list[tuple[str, str]]:
        """Return ``(name, short repr)`` for each keyword argument."""
        return [(key, short_repr(value, limit)) for key, value in self.kwargs.items()]


class ChunkEmitted(NamedTuple):
    """An async-generator node yielded a value.

    Attributes:
        index: Position of the chunk within the node's current run, from 0.
        value: The yielded value (the `Chunk.output`), not copied.
    """

    run_id: str
    node_id: str | None
    time: float

    index: int
    value: Any


class NodeSucceeded(NamedTuple):
    """A run of the node completed: returned, forwarded and ran `on_after_run`.

    Attributes:
        duration: Seconds from `NodeStarted` to completion.
        output: The output, not copied (for an async-generator node, the
            aggregated list).
        chunk_count: Values yielded in this run (0 for a plain coroutine).
    """

    run_id: str
    node_id: str | None
    time: float

    duration: float
    output: Any
    chunk_count: int

    @property
    def output_repr(self) -> str:
        """A repr of the output cut to about 120 characters."""
        return short_repr(self.output)

    @property
    def output_type(self) -> str:
        """The output's type name."""
        return type(self.output).__name__


class NodeFailed(NamedTuple):
    """A run of the node raised; `error` keeps its `__traceback__`."""

    run_id: str
    node_id: str | None
    time: float

    duration: float
    error: BaseException


class NodeTimedOut(NamedTuple):
    """A run of the node exceeded `timeout` seconds and was stopped."""

    run_id: str
    node_id: str | None
    time: float

    duration: float
    timeout: float


class NodeCancelled(NamedTuple):
    """The caller cancelled the node while it was ready or running."""

    run_id: str
    node_id: str | None
    time: float

    duration: float
    reason: str


class NodeReset(NamedTuple):
    """A finished node went back to waiting, for example to be retried."""

    run_id: str
    node_id: str | None
    time: float

    reason: str


class NodeSkipped(NamedTuple):
    """The node will not run in this run; `reason` says why."""

    run_id: str
    node_id: str | None
    time: float

    reason: str


EVENT_TYPES: frozenset[type] = frozenset(
    {
        RunStarted,
        RunFinished,
        RunPaused,
        RunHeld,
        RunResumed,
        MaxWorkersChanged,
        NodeAdded,
        NodeRemoved,
        EdgeAdded,
        EdgeRemoved,
        NodeQueued,
        NodeStarted,
        ChunkEmitted,
        NodeSucceeded,
        NodeFailed,
        NodeTimedOut,
        NodeCancelled,
        NodeReset,
        NodeSkipped,
    }
)
"""Every event class. ``type(item) in EVENT_TYPES`` is much faster than
``isinstance(item, Event)``, which goes through the ABC registry."""

for _event_type in EVENT_TYPES:
    Event.register(_event_type)


STATE_AFTER: dict[type[Event], NodeState] = {
    NodeAdded: NodeState.WAITING,
    NodeQueued: NodeState.READY,
    NodeStarted: NodeState.RUNNING,
    NodeSucceeded: NodeState.SUCCEEDED,
    NodeFailed: NodeState.FAILED,
    NodeTimedOut: NodeState.TIMED_OUT,
    NodeCancelled: NodeState.CANCELLED,
    NodeSkipped: NodeState.SKIPPED,
    NodeReset: NodeState.WAITING,
}
"""The node state that each per-node event leaves behind."""
