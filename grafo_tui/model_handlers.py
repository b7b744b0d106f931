"""Fold engine events into a `RunModel`, with one handler function per event type."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any

from grafo_core import events
from grafo_core.events import NodeState, short_repr
from grafo_tui.model_views import (
    NODE_COLOURS,
    LogLine,
    NodeView,
    OtherRun,
    RunSpan,
    error_summary,
    escape_control,
    format_chunk,
)
from grafo_tui.skipped_lines import SkippedLine, skipped_text
from grafo_tui.tracebacks import node_traceback

if TYPE_CHECKING:
    from grafo_tui.model import RunModel


_FAILURE_STATES = frozenset({NodeState.FAILED, NodeState.TIMED_OUT})


def _on_run_started(model: RunModel, event: events.RunStarted) -> LogLine:
    model.run_id = event.run_id
    model.description = event.description
    model.started_at = event.time
    model.max_workers = event.max_workers
    model.root_ids = list(event.root_ids)
    return model._line(event, f"{_run_title(model)} started", "run")


def _run_title(model: RunModel) -> str:
    return run_title(model.run_id, model.description)


def run_title(run_id: str, description: str) -> str:
    """Return ``run NAME (ID)``.

    A generated UUID4 id is cut to its first 8 characters. An id the caller
    chose is shown whole, because two of them may start alike.
    """
    short_id = run_id[:8] if _is_uuid(run_id) else escape_control(run_id)
    if description:
        return f"run {escape_control(description)} ({short_id})"
    return f"run {short_id}"


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


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


def _on_other_run_started(model: RunModel, event: events.RunStarted) -> LogLine:
    model.other_runs[event.run_id] = OtherRun(event.description, event.time)
    return _other_run_line(model, event, "started")


def _on_other_run_held(model: RunModel, event: events.RunHeld) -> LogLine:
    return _other_run_line(model, event, f"held: {escape_control(event.reason)}")


def _on_other_run_finished(model: RunModel, event: events.RunFinished) -> LogLine:
    outcome = "was stopped" if event.cancelled else "finished"
    # Removed nodes are not tracked for other runs, so none are counted here.
    errors = _errors_text(event.error_count, Counter())
    line = _other_run_line(model, event, f"{outcome}{errors}")
    model.other_runs.pop(event.run_id, None)
    return line


def _other_run_line(model: RunModel, event: events.Event, text: str) -> LogLine:
    """Return a Log line about a run that is not the one on screen, timed
    from that run's start when the model saw it."""
    run = model.other_runs.get(event.run_id)
    description = run.description if run is not None else ""
    started_at = run.started_at if run is not None else model.started_at
    return LogLine(
        time=event.time - started_at if started_at is not None else 0.0,
        node_id=None,
        label="",
        text=f"{run_title(event.run_id, description)} {text}",
        kind="run",
    )


def _on_paused(model: RunModel, event: events.Event) -> LogLine:
    model.paused = isinstance(event, events.RunPaused)
    model.paused_at = event.node_id if model.paused else None
    if isinstance(event, events.RunPaused):
        text = f"{_run_title(model)} paused: {escape_control(event.reason)}"
    else:
        text = f"{_run_title(model)} resumed"
    return model._line(event, text, "run")


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
    _clear_attempt(node)
    node.end_reason = escape_control(event.reason)
    if node.node_id in model.failed_ids:
        model.failed_ids.remove(node.node_id)


def _on_max_workers(model: RunModel, event: events.MaxWorkersChanged) -> None:
    model.max_workers = event.max_workers


def _on_node_added(model: RunModel, event: events.NodeAdded) -> LogLine | None:
    assert event.node_id is not None
    node = model.nodes.get(event.node_id)
    is_new = node is None
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
    # Nodes of the graph the run started with get no line.
    if not (is_new and model.nodes_started):
        return None
    parents = [model.label(parent_id) for parent_id in event.parent_ids]
    text = f"added under {', '.join(parents)}" if parents else "added with no parent"
    return model._line(event, text, "graph")


def _leave_breakpoint(model: RunModel, node_id: str | None) -> None:
    """Forget that the run paused at `node_id`'s breakpoint once that node
    will not start from it: it started, was skipped, cancelled or removed."""
    if model.paused_at is not None and model.paused_at == node_id:
        model.paused_at = None


def _on_node_removed(model: RunModel, event: events.NodeRemoved) -> LogLine | None:
    assert event.node_id is not None
    _leave_breakpoint(model, event.node_id)
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


def _on_edge_added(model: RunModel, event: events.EdgeAdded) -> LogLine | None:
    assert event.node_id is not None
    child = model.nodes.get(event.node_id)
    if child is None:
        return None
    _add_edge(model, event.parent_id, child, event.forward)
    # Edges of the graph the run started with get no line. One added later,
    # like a removed one, can change when the child starts.
    if not model.nodes_started:
        return None
    text = f"edge from {model.label(event.parent_id)} added"
    if event.forward is not None:
        text += f", forwards to {escape_control(event.forward)}"
    return model._line(event, text, "graph")


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


def _clear_attempt(node: NodeView) -> None:
    """Forget the timing, error and reason of the node's last attempt, which
    ended, so that they do not show as those of the attempt to come."""
    node.ready_at = None
    node.started_at = None
    node.finished_at = None
    node.duration = None
    node.chunk_count = 0
    node.error = None
    node.error_text = None
    node.end_reason = None


def _on_node_queued(model: RunModel, event: events.NodeQueued) -> None:
    model.nodes_started = True
    known = model.nodes.get(event.node_id or "")
    # A node that ran before in this run (in a cycle) is queued again
    # without a `NodeReset`.
    if known is not None and known.state.is_finished:
        _clear_attempt(known)
    node = model._node(event)
    if node is not None:
        node.ready_at = event.time


def _on_node_started(model: RunModel, event: events.NodeStarted) -> None:
    model.nodes_started = True
    known = model.nodes.get(event.node_id or "")
    # A node that did not wait in the ready queue was ready as it started.
    queued = known is not None and known.state is NodeState.READY
    node = model._node(event)
    if node is None:
        return
    ready_at = node.ready_at if queued else event.time
    _clear_attempt(node)
    node.ready_at = ready_at
    node.started_at = event.time
    node.runs = event.attempt
    node.kwargs = tuple(event.kwargs_reprs())
    node.kwarg_types = {
        name: type(value).__name__ for name, value in event.kwargs.items()
    }
    node.spans.append(RunSpan(event.time))
    node.fault = None
    node.awaiting = ()
    model.held = None
    _leave_breakpoint(model, node.node_id)
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
    node.output_repr = short_repr(event.output)
    node.output_type = event.output_type
    node.chunk_count = event.chunk_count
    node.completions += 1
    text = f"-> {escape_control(node.output_repr)}"
    return model._line(event, text, "result")


def _on_failed(model: RunModel, event: events.NodeFailed) -> LogLine | None:
    node = model._node(event)
    if node is None:
        return None
    model._end_run(node, event)
    node.duration = event.duration
    node.error = event.error
    node.error_text = node_traceback(event.error)
    model.failed_ids.append(node.node_id)
    model._count_error(node.node_id)
    return model._line(event, f"failed: {error_summary(event.error)}", "error")


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
    _leave_breakpoint(model, event.node_id)
    node = model._node(event)
    if node is None:
        return None
    model._end_run(node, event)
    node.duration = event.duration
    node.end_reason = escape_control(event.reason) if event.reason else None
    return model._line(event, f"cancelled: {escape_control(event.reason)}", "error")


def _on_skipped(model: RunModel, event: events.NodeSkipped) -> SkippedLine | None:
    _leave_breakpoint(model, event.node_id)
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


HANDLERS: dict[type[events.Event], Any] = {
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

OTHER_RUN_HANDLERS: dict[type[events.Event], Any] = {
    events.RunStarted: _on_other_run_started,
    events.RunHeld: _on_other_run_held,
    events.RunFinished: _on_other_run_finished,
}
"""Handlers of the events of runs other than the model's own. Only these
run-level events give a Log line; the other events of those runs are dropped."""
