"""Lifecycle events that a `TreeExecutor` sends to its subscribers."""

from __future__ import annotations

import enum
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_REPR = reprlib.Repr()  # Python 3.11's Repr takes no keyword arguments
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


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event: which run, which node, and when.

    Attributes:
        run_id: The `TreeExecutor.name` of the run that sent the event.
        node_id: The uuid of the node concerned, or `None` for run-wide events.
        time: `time.monotonic()` when the change happened, in seconds.
    """

    run_id: str
    node_id: str | None
    time: float


@dataclass(frozen=True, slots=True)
class RunStarted(Event):
    """A run began. `NodeAdded` and `EdgeAdded` events for its graph follow."""

    description: str
    root_ids: tuple[str, ...]
    max_workers: int | None


@dataclass(frozen=True, slots=True)
class RunFinished(Event):
    """A run ended: nothing is running or ready, or the caller stopped it.

    `cancelled` is true when the task awaiting the run was cancelled or the
    consumer of `yielding()` left early.
    """

    error_count: int
    cancelled: bool


@dataclass(frozen=True, slots=True)
class RunPaused(Event):
    """No new node starts until resumed: `TreeExecutor.pause()` was called, or
    a node with a breakpoint was about to start (then `node_id` names it)."""

    reason: str = "paused by the caller"


@dataclass(frozen=True, slots=True)
class RunHeld(Event):
    """Nothing runs or is queued, but the run is kept open (`hold_on_error`)
    so the caller can retry nodes; `TreeExecutor.release()` ends it."""

    reason: str


@dataclass(frozen=True, slots=True)
class RunResumed(Event):
    """`TreeExecutor.resume()` took effect."""


@dataclass(frozen=True, slots=True)
class MaxWorkersChanged(Event):
    """The limit on concurrently running nodes changed (`None`: no limit)."""

    max_workers: int | None


@dataclass(frozen=True, slots=True)
class NodeAdded(Event):
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
    """

    label: str
    name: str
    is_generator: bool
    is_root: bool
    timeout: float | None
    module: str
    source: str


@dataclass(frozen=True, slots=True)
class NodeRemoved(Event):
    """A node left the run's graph; its edges were removed first."""


@dataclass(frozen=True, slots=True)
class EdgeAdded(Event):
    """An edge `parent_id -> node_id` exists in the run's graph.

    `forward` is the parameter name the parent's output is written to, or
    `None` when the edge passes no data.
    """

    parent_id: str
    forward: str | None


@dataclass(frozen=True, slots=True)
class EdgeRemoved(Event):
    """The edge `parent_id -> node_id` was removed."""

    parent_id: str


@dataclass(frozen=True, slots=True)
class NodeQueued(Event):
    """Every parent completed; the node moved from waiting to ready."""


@dataclass(frozen=True, slots=True)
class NodeStarted(Event):
    """The node's coroutine is about to be called (after `on_before_run`).

    The node counts as running from the moment it leaves the ready queue, so
    a failure in `on_before_run` can end it before this event is sent.

    Attributes:
        attempt: 1 for the node's first run in this run, 2 for the next, ...
        kwargs: A copy of the arguments passed: forwarded values included and
            lambdas replaced by their results.
    """

    attempt: int
    kwargs: Mapping[str, Any]

    def kwargs_reprs(self, limit: int = 120) -> list[tuple[str, str]]:
        """Return ``(name, short repr)`` for each keyword argument."""
        return [(key, short_repr(value, limit)) for key, value in self.kwargs.items()]


@dataclass(frozen=True, slots=True)
class ChunkEmitted(Event):
    """An async-generator node yielded a value.

    Attributes:
        index: Position of the chunk within the node's current run, from 0.
        value: The yielded value (the `Chunk.output`), not copied.
    """

    index: int
    value: Any


@dataclass(frozen=True, slots=True)
class NodeSucceeded(Event):
    """A run of the node completed: returned, forwarded and ran `on_after_run`.

    Attributes:
        duration: Seconds from `NodeStarted` to completion.
        output: The output, not copied (for an async-generator node, the
            aggregated list).
        chunk_count: Values yielded in this run (0 for a plain coroutine).
    """

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


@dataclass(frozen=True, slots=True)
class NodeFailed(Event):
    """A run of the node raised; `error` keeps its `__traceback__`."""

    duration: float
    error: BaseException


@dataclass(frozen=True, slots=True)
class NodeTimedOut(Event):
    """A run of the node exceeded `timeout` seconds and was stopped."""

    duration: float
    timeout: float


@dataclass(frozen=True, slots=True)
class NodeCancelled(Event):
    """The caller cancelled the node while it was ready or running."""

    duration: float
    reason: str


@dataclass(frozen=True, slots=True)
class NodeReset(Event):
    """A finished node went back to waiting, for example to be retried."""

    reason: str


@dataclass(frozen=True, slots=True)
class NodeSkipped(Event):
    """The node will not run in this run; `reason` says why."""

    reason: str


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
