"""Display state of one run, folded from the engine's events (no Textual here)."""

from __future__ import annotations

import traceback
from collections import Counter
from typing import Any

from grafo_core import events
from grafo_core.events import NodeState
from grafo_tui.model_views import (
    NODE_COLOURS,
    RETRYABLE,
    LogLine,
    LoopBlock,
    NodeView,
    RunSpan,
    error_summary,
    escape_control,
    format_chunk,
    short_location,
)
from grafo_tui.skipped_lines import SkippedLine, skipped_text

__all__ = [
    "NODE_COLOURS",
    "RETRYABLE",
    "LogLine",
    "LoopBlock",
    "NodeView",
    "RunModel",
    "RunSpan",
    "error_summary",
    "escape_control",
    "format_chunk",
    "short_location",
]


_FAILURE_STATES = frozenset({NodeState.FAILED, NodeState.TIMED_OUT})


class RunModel:
    """Per-node display state of one run, rebuilt from its event stream.

    `apply` folds one event; `structure_version` grows whenever nodes or edges
    change, so a view can tell when to rebuild its layout.
    """

    def __init__(self, run_id: str = "", description: str = "") -> None:
        self.run_id = run_id
        self.description = description
        self.nodes: dict[str, NodeView] = {}
        self.root_ids: list[str] = []
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.paused = False
        self.max_workers: int | None = None
        self.cancelled = False
        self.error_count = 0
        self.failed_ids: list[str] = []
        """Nodes whose failure or timeout stopped the run from starting others."""
        self.max_running = 0
        self.structure_version = 0
        self.held: str | None = None
        """Why the run is held open for retries (`RunHeld`), or `None`."""
        self.paused_at: str | None = None
        """The node whose breakpoint paused the run, or `None`."""
        self.running_history: list[tuple[float, int]] = []
        """``(time, running count)`` after every change of the running count."""
        self.blocking: LoopBlock | None = None
        """The event loop block going on now, or `None`."""
        self.block_count = 0
        self.longest_block = 0.0
        self.error_counts: Counter[str] = Counter()
        """Node id -> `NodeFailed` and `NodeTimedOut` events of that node."""
        self.removed_failures: Counter[NodeState] = Counter()
        """Nodes removed while failed or timed out, per state. Their errors
        still count in the run's `RunFinished.error_count`."""
        self.removed_errors: Counter[str] = Counter()
        """Node id -> errors of that node, for nodes removed after an error."""
        self._running: set[str] = set()
        self._added = 0
        # The node whose failure the next `NodeSkipped` events may follow
        # from, with its descendants and the reason they were skipped for.
        self._skip_cause: str | None = None
        self._cause_descendants: set[str] | None = None
        self._cause_reason: str | None = None

    def __repr__(self) -> str:
        return (
            f"RunModel(run_id={self.run_id!r}, nodes={len(self.nodes)}, "
            f"running={len(self._running)}, finished={self.is_finished})"
        )

    @property
    def is_started(self) -> bool:
        """Whether the run's `RunStarted` event arrived."""
        return self.started_at is not None

    @property
    def is_finished(self) -> bool:
        """Whether the run's `RunFinished` event arrived."""
        return self.finished_at is not None

    @property
    def running_count(self) -> int:
        """Nodes running now."""
        return len(self._running)

    def elapsed(self, now: float) -> float:
        """Return seconds from the run's start to its end, or to `now`."""
        if self.started_at is None:
            return 0.0
        end = self.finished_at if self.finished_at is not None else now
        return max(0.0, end - self.started_at)

    def counts(self) -> Counter[NodeState]:
        """Return the number of nodes in each state."""
        return Counter(node.state for node in self.nodes.values())

    def label(self, node_id: str) -> str:
        """Return the label of a node, or its id when the node is unknown."""
        node = self.nodes.get(node_id)
        return node.label if node is not None else node_id

    def top_level_ids(self) -> list[str]:
        """Return roots, then nodes that have no parent (left), in added order."""
        ids = [node_id for node_id in self.root_ids if node_id in self.nodes]
        seen = set(ids)
        for node_id, node in self.nodes.items():
            if not node.parents and node_id not in seen:
                ids.append(node_id)
        return ids

    def apply(self, event: events.Event) -> LogLine | None:
        """Fold one event into the model; return the log line it produces, if any."""
        handler = _HANDLERS.get(type(event))
        if handler is None:
            return None
        if type(event) is not events.NodeSkipped:
            self._skip_cause = None
        return handler(self, event)

    def loop_blocked(
        self, node_id: str | None, file: str, line: int, function: str, since: float
    ) -> None:
        """Record that the pipeline's event loop is blocked, by `node_id` if known."""
        block = LoopBlock(node_id, short_location(file, line), function, since)
        self.blocking = block
        node = self.nodes.get(node_id) if node_id is not None else None
        if node is not None:
            node.blocked_at = block.location

    def loop_unblocked(self, node_id: str | None, seconds: float) -> LogLine:
        """Record the end of a block; return its log line."""
        block = self.blocking
        self.blocking = None
        self.block_count += 1
        self.longest_block = max(self.longest_block, seconds)
        node = self.nodes.get(node_id) if node_id is not None else None
        if node is not None:
            node.blocked_at = None
        where = f" at {block.location} in {block.function}" if block else ""
        text = f"blocked the event loop for {seconds:.2f} s{where}"
        if node is None:
            text = f"code outside any node {text}"
        moment = block.since + seconds if block else self.started_at or 0.0
        return LogLine(
            time=self._since_start(moment),
            node_id=node_id,
            label=node.label if node is not None else "event loop",
            text=text,
            kind="warning",
            colour=node.colour if node is not None else 0,
        )

    def running_samples(self, start: float, end: float, count: int) -> list[int]:
        """Return the max number of running nodes in each of `count` equal slices
        of the time from `start` to `end`."""
        if count <= 0:
            return []
        samples = [0] * count
        width = (end - start) / count if end > start else 1.0
        history = self.running_history
        for index, (moment, running) in enumerate(history):
            if not running:
                continue
            following = history[index + 1][0] if index + 1 < len(history) else end
            first = int((moment - start) / width)
            # An interval that ends on a slice boundary does not reach the next slice.
            last = int((following - start) / width - 1e-9)
            for column in range(max(0, first), min(count - 1, max(first, last)) + 1):
                samples[column] = max(samples[column], running)
        return samples

    def orphaned_by_removal(self, node_id: str) -> list[str]:
        """Return the descendants that removing `node_id` leaves without any parent.

        These are the nodes that `remove(node_id, cascade=True)` removes with it.
        """
        removed = {node_id}
        pending = list(self._children(node_id))
        orphans: list[str] = []
        while pending:
            child_id = pending.pop(0)
            child = self.nodes.get(child_id)
            if child is None or child_id in removed:
                continue
            if all(parent_id in removed for parent_id in child.parents):
                removed.add(child_id)
                orphans.append(child_id)
                pending.extend(self._children(child_id))
        return orphans

    def why_not_running(self, node_id: str) -> str:
        """Explain in one or two sentences why a node is not running now."""
        node = self.nodes.get(node_id)
        if node is None:
            return f"{node_id!r} is not in the current run."
        if node.state is NodeState.RUNNING:
            return "It is running."
        if node.state.is_finished:
            return self._explain_finished(node)
        if self.is_finished:
            return "The run ended before this node could start."
        if self.failed_ids:
            failed = ", ".join(self.label(i) for i in self.failed_ids)
            return f"No new node starts because {failed} failed."
        if node.state is NodeState.READY:
            if self.paused_at == node_id:
                return "The run paused at its breakpoint: step (s) or resume (p)."
            return self._explain_ready()
        return self._explain_waiting(node)

    def _explain_finished(self, node: NodeView) -> str:
        text = f"It ended: {node.state.value.replace('_', ' ')}."
        if node.end_reason:
            reason = node.end_reason.rstrip(".")
            text += f" Reason: {reason[:1].upper()}{reason[1:]}."
        if self.held and node.state in RETRYABLE:
            text += " The run is held: press t to retry it, e to end the run."
        return text

    def _explain_ready(self) -> str:
        if self.paused:
            return "It is ready, but the run is paused: step (s) or resume (p)."
        limit = self.max_workers
        if limit is not None and self.running_count >= limit:
            running = self.running_count
            return (
                f"It is ready, but {running} nodes are running, the max_workers limit."
            )
        return "It is ready and starts as soon as the engine schedules it."

    def _explain_waiting(self, node: NodeView) -> str:
        if not node.parents and not node.is_root:
            return "It has no parent left, so it never starts."
        waiting_for = [
            f"{self.label(parent_id)} ({self._state_name(parent_id)})"
            for parent_id in node.parents
            if self._completions(parent_id) == 0
        ]
        if waiting_for:
            text = "Waiting for parents to finish: " + ", ".join(waiting_for) + "."
        else:
            text = "Every parent finished; it is about to be queued."
        if self.paused:
            text += " The run is paused."
        return text

    def _state_name(self, node_id: str) -> str:
        node = self.nodes.get(node_id)
        return node.state.value.replace("_", " ") if node else "removed"

    def _completions(self, node_id: str) -> int:
        node = self.nodes.get(node_id)
        return node.completions if node else 0

    def _failure_caused(self, node_id: str, reason: str) -> str | None:
        """Return the failed node whose descendants the engine is skipping
        when `node_id` is skipped as one of them, or `None` otherwise.

        The engine skips a failed node's waiting descendants right after its
        `NodeFailed` or `NodeTimedOut`, all with one reason. The first skip
        that is not one of them ends that burst.
        """
        cause = self._skip_cause
        if cause is None:
            return None
        if self._cause_descendants is None:
            self._cause_descendants = self._descendants(cause)
        same_reason = self._cause_reason is None or self._cause_reason == reason
        if same_reason and node_id in self._cause_descendants:
            self._cause_reason = reason
            return cause
        self._skip_cause = None
        return None

    def _descendants(self, node_id: str) -> set[str]:
        found: set[str] = set()
        pending = self._children(node_id)
        while pending:
            child_id = pending.pop()
            if child_id not in found:
                found.add(child_id)
                pending.extend(self._children(child_id))
        return found

    def _count_error(self, node_id: str) -> None:
        self.error_counts[node_id] += 1
        self._skip_cause = node_id
        self._cause_descendants = None
        self._cause_reason = None

    def _children(self, node_id: str) -> list[str]:
        node = self.nodes.get(node_id)
        return list(node.children) if node else []

    def _since_start(self, time: float) -> float:
        return time - self.started_at if self.started_at is not None else 0.0

    def _line(self, event: events.Event, text: str, kind: str) -> LogLine:
        node = self.nodes.get(event.node_id) if event.node_id else None
        return LogLine(
            time=self._since_start(event.time),
            node_id=event.node_id,
            label=node.label if node else "",
            text=text,
            kind=kind,
            colour=node.colour if node else 0,
        )

    def _node(self, event: events.Event) -> NodeView | None:
        assert event.node_id is not None
        node = self.nodes.get(event.node_id)
        if node is not None:
            node.state = events.STATE_AFTER.get(type(event), node.state)
        return node

    def _end_run(self, node: NodeView, event: events.Event) -> None:
        node.finished_at = event.time
        node.awaiting = ()
        if node.spans and node.spans[-1].end is None:
            node.spans[-1].end = event.time
            node.spans[-1].state = node.state
        self._set_running(event.time, discard=node.node_id)

    def _set_running(
        self, time: float, *, add: str | None = None, discard: str | None = None
    ) -> None:
        before = len(self._running)
        if add is not None:
            self._running.add(add)
        if discard is not None:
            self._running.discard(discard)
        if len(self._running) != before:
            self.running_history.append((time, len(self._running)))


def _on_run_started(model: RunModel, event: events.RunStarted) -> LogLine:
    model.run_id = event.run_id
    model.description = event.description
    model.started_at = event.time
    model.max_workers = event.max_workers
    model.root_ids = list(event.root_ids)
    return model._line(event, f"{_run_title(model)} started", "run")


def _run_title(model: RunModel) -> str:
    """Return ``run NAME (ID)``, with the id cut to 8 characters when long."""
    run_id = model.run_id if len(model.run_id) <= 12 else model.run_id[:8]
    if model.description:
        return f"run {escape_control(model.description)} ({run_id})"
    return f"run {run_id}"


def _on_run_finished(model: RunModel, event: events.RunFinished) -> LogLine:
    model.finished_at = event.time
    model.error_count = event.error_count
    model.cancelled = event.cancelled
    model.held = None
    model.paused_at = None
    for node_id in model._running:
        node = model.nodes.get(node_id)
        if node is not None and node.spans and node.spans[-1].end is None:
            node.spans[-1].end = event.time
    model._running.clear()
    model.running_history.append((event.time, 0))
    outcome = "was stopped" if event.cancelled else "finished"
    errors = _errors_text(event.error_count, model.removed_errors)
    return model._line(event, f"{_run_title(model)} {outcome}{errors}", "run")


def _errors_text(count: int, removed_errors: Counter[str]) -> str:
    """Return ", N errors" for the end of a run, with how many of them came
    from nodes that were removed since (the status line counts those too)."""
    if not count:
        return ""
    text = f", {count} error" if count == 1 else f", {count} errors"
    removed = min(removed_errors.total(), count)
    if not removed:
        return text
    source = "a removed node" if len(removed_errors) == 1 else "removed nodes"
    if removed == count:
        return f"{text}, from {source}"
    return f"{text}, {removed} from {source}"


def _on_paused(model: RunModel, event: events.Event) -> None:
    model.paused = isinstance(event, events.RunPaused)
    model.paused_at = event.node_id if model.paused else None


def _on_held(model: RunModel, event: events.RunHeld) -> LogLine:
    model.held = event.reason
    return model._line(
        event, f"{_run_title(model)} held: {escape_control(event.reason)}", "run"
    )


def _on_reset(model: RunModel, event: events.NodeReset) -> None:
    node = model._node(event)
    model.held = None
    if node is None:
        return
    node.finished_at = None
    node.end_reason = escape_control(event.reason)
    if node.node_id in model.failed_ids:
        model.failed_ids.remove(node.node_id)


def _on_max_workers(model: RunModel, event: events.MaxWorkersChanged) -> None:
    model.max_workers = event.max_workers


def _on_node_added(model: RunModel, event: events.NodeAdded) -> None:
    assert event.node_id is not None
    node = model.nodes.get(event.node_id)
    if node is None:
        label = escape_control(event.label)
        node = NodeView(event.node_id, label, colour=model._added % NODE_COLOURS)
        model._added += 1
        model.nodes[event.node_id] = node
        model.structure_version += 1
    node.label = escape_control(event.label)
    node.name = escape_control(event.name)
    node.is_generator = event.is_generator
    node.is_root = event.is_root
    node.timeout = event.timeout
    node.source = event.source
    node.node_class = escape_control(event.node_class)
    node.declared_type = escape_control(event.declared_type)
    node.state = NodeState.WAITING
    if event.is_root and event.node_id not in model.root_ids:
        model.root_ids.append(event.node_id)
    for parent_id in event.parent_ids:
        _add_edge(model, parent_id, node, event.forward_from(parent_id))


def _on_node_removed(model: RunModel, event: events.NodeRemoved) -> LogLine | None:
    assert event.node_id is not None
    node = model.nodes.get(event.node_id)
    if node is None:
        return None
    # The line is made while the node is still known, for its label.
    line = _removal_line(model, event, node)
    del model.nodes[event.node_id]
    model._set_running(event.time, discard=event.node_id)
    for parent_id in node.parents:
        parent = model.nodes.get(parent_id)
        if parent is not None and event.node_id in parent.children:
            parent.children.remove(event.node_id)
    for child_id in node.children:
        child = model.nodes.get(child_id)
        if child is not None:
            child.parents.pop(event.node_id, None)
    if event.node_id in model.root_ids:
        model.root_ids.remove(event.node_id)
    model.structure_version += 1
    return line


def _removal_line(
    model: RunModel, event: events.NodeRemoved, node: NodeView
) -> LogLine | None:
    """Record the errors of a removed node and return a Log line saying that
    they still count, or `None` when the node had none."""
    errors = model.error_counts.pop(node.node_id, 0)
    if errors:
        model.removed_errors[node.node_id] += errors
    if node.state in _FAILURE_STATES:
        model.removed_failures[node.state] += 1
        state = node.state.value.replace("_", " ")
        text = f"removed while {state}; its error still counts"
    elif errors:
        text = "removed; its earlier error still counts"
    else:
        return None
    return model._line(event, text, "graph")


def _on_edge_added(model: RunModel, event: events.EdgeAdded) -> None:
    assert event.node_id is not None
    child = model.nodes.get(event.node_id)
    if child is not None:
        _add_edge(model, event.parent_id, child, event.forward)


def _add_edge(
    model: RunModel, parent_id: str, child: NodeView, forward: str | None
) -> None:
    parent = model.nodes.get(parent_id)
    if parent is None:
        return
    child.parents[parent_id] = forward
    if child.node_id not in parent.children:
        parent.children.append(child.node_id)
    model.structure_version += 1


def _on_edge_removed(model: RunModel, event: events.EdgeRemoved) -> LogLine | None:
    assert event.node_id is not None
    child = model.nodes.get(event.node_id)
    parent = model.nodes.get(event.parent_id)
    if child is not None:
        child.parents.pop(event.parent_id, None)
    if parent is not None and event.node_id in parent.children:
        parent.children.remove(event.node_id)
    model.structure_version += 1
    if child is None:
        return None
    # An edge removed during the run can make the child start earlier or
    # never, so the child gets a line in the Log.
    parent_label = parent.label if parent is not None else event.parent_id
    return model._line(event, f"edge from {parent_label} removed", "graph")


def _on_node_queued(model: RunModel, event: events.NodeQueued) -> None:
    node = model._node(event)
    if node is not None:
        node.ready_at = event.time


def _on_node_started(model: RunModel, event: events.NodeStarted) -> None:
    known = model.nodes.get(event.node_id or "")
    # A node that did not wait in the ready queue was ready as it started.
    queued = known is not None and known.state is NodeState.READY
    node = model._node(event)
    if node is None:
        return
    if not queued:
        node.ready_at = event.time
    node.runs = event.attempt
    node.kwargs = tuple(event.kwargs_reprs())
    node.kwarg_types = {
        name: type(value).__name__ for name, value in event.kwargs.items()
    }
    node.spans.append(RunSpan(event.time))
    node.fault = None
    node.awaiting = ()
    node.started_at = event.time
    node.finished_at = None
    node.duration = None
    node.chunk_count = 0
    node.error = None
    node.error_text = None
    node.end_reason = None
    model.held = None
    if model.paused_at == node.node_id:
        model.paused_at = None
    model._set_running(event.time, add=node.node_id)
    model.max_running = max(model.max_running, len(model._running))


def _on_chunk(model: RunModel, event: events.ChunkEmitted) -> LogLine | None:
    node = model.nodes.get(event.node_id or "")
    if node is not None:
        node.chunk_count = event.index + 1
    return model._line(event, format_chunk(event.value), "chunk")


def _on_succeeded(model: RunModel, event: events.NodeSucceeded) -> LogLine | None:
    node = model._node(event)
    if node is None:
        return None
    model._end_run(node, event)
    node.duration = event.duration
    node.output_repr = event.output_repr
    node.output_type = event.output_type
    node.chunk_count = event.chunk_count
    node.completions += 1
    text = f"-> {escape_control(event.output_repr)}"
    return model._line(event, text, "result")


def _on_failed(model: RunModel, event: events.NodeFailed) -> LogLine | None:
    node = model._node(event)
    if node is None:
        return None
    model._end_run(node, event)
    node.duration = event.duration
    node.error = event.error
    node.error_text = _traceback_text(event.error)
    model.failed_ids.append(node.node_id)
    model._count_error(node.node_id)
    return model._line(event, f"failed: {error_summary(event.error)}", "error")


def _traceback_text(error: BaseException) -> str:
    try:
        return "".join(traceback.format_exception(error)).rstrip()
    except Exception:  # format_exception calls str(), which may raise
        return error_summary(error)


def _on_timed_out(model: RunModel, event: events.NodeTimedOut) -> LogLine | None:
    node = model._node(event)
    if node is None:
        return None
    model._end_run(node, event)
    node.duration = event.duration
    node.end_reason = f"It ran longer than its timeout of {event.timeout:g} s."
    model.failed_ids.append(node.node_id)
    model._count_error(node.node_id)
    return model._line(event, f"timed out after {event.timeout:g} s", "error")


def _on_cancelled(model: RunModel, event: events.NodeCancelled) -> LogLine | None:
    node = model._node(event)
    if node is None:
        return None
    model._end_run(node, event)
    node.duration = event.duration
    node.end_reason = escape_control(event.reason) if event.reason else None
    return model._line(event, f"cancelled: {escape_control(event.reason)}", "error")


def _on_skipped(model: RunModel, event: events.NodeSkipped) -> SkippedLine | None:
    node = model._node(event)
    if node is None:
        return None
    node.finished_at = event.time
    reason = escape_control(event.reason)
    node.end_reason = reason or None
    cause_id = model._failure_caused(node.node_id, reason)
    # The line shows the failed node's label, or the skipped node's own.
    owner = model.nodes[cause_id] if cause_id is not None else node
    return SkippedLine(
        time=model._since_start(event.time),
        node_id=owner.node_id,
        label=owner.label,
        text=skipped_text(reason, cause_id, (node.label,)),
        kind="skipped",
        colour=owner.colour,
        reason=reason,
        cause_id=cause_id,
        skipped_ids=(node.node_id,),
        skipped_labels=(node.label,),
    )


_HANDLERS: dict[type[events.Event], Any] = {
    events.RunStarted: _on_run_started,
    events.RunFinished: _on_run_finished,
    events.RunPaused: _on_paused,
    events.RunResumed: _on_paused,
    events.RunHeld: _on_held,
    events.NodeReset: _on_reset,
    events.MaxWorkersChanged: _on_max_workers,
    events.NodeAdded: _on_node_added,
    events.NodeRemoved: _on_node_removed,
    events.EdgeAdded: _on_edge_added,
    events.EdgeRemoved: _on_edge_removed,
    events.NodeQueued: _on_node_queued,
    events.NodeStarted: _on_node_started,
    events.ChunkEmitted: _on_chunk,
    events.NodeSucceeded: _on_succeeded,
    events.NodeFailed: _on_failed,
    events.NodeTimedOut: _on_timed_out,
    events.NodeCancelled: _on_cancelled,
    events.NodeSkipped: _on_skipped,
}
