"""Everything known about the node under the tree's cursor."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

import grafo_core
from grafo_core.events import NodeState
from grafo_tui.model import (
    NodeView,
    RunModel,
    error_summary,
    escape_control,
    short_location,
)
from grafo_tui.widgets.task_tree import STATE_MARKS, format_duration

_ENGINE_DIR = os.path.dirname(grafo_core.__file__) + os.sep


class NodeDetails(VerticalScroll):
    """State, edges, arguments, output, timing and error of one node."""

    COMPONENT_CLASSES = {"node-details--error"}

    DEFAULT_CSS = """
    NodeDetails { padding: 0 1; }
    NodeDetails > Static { width: 1fr; }
    NodeDetails > .node-details--error { color: $text-error; text-style: bold; }
    """

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.clock = clock
        self._body = Static(Text("Select a node in the tree."))
        self._shown = Text()
        # The model and node id of the last node shown, to tell a node
        # removed from the run on screen from one its tree never had.
        self._shown_node: tuple[RunModel, str] | None = None

    def compose(self):
        yield self._body

    def show(self, model: RunModel, node_id: str | None) -> None:
        """Show the details of `node_id` in `model`, or a hint when it is `None`."""
        node = model.nodes.get(node_id) if node_id is not None else None
        if node_id is None:
            text = Text("Select a node in the tree.")
        elif node is None:
            text = Text(self._describe_missing(model, node_id))
        else:
            self._shown_node = (model, node_id)
            text = self._describe(model, node)
        if text != self._shown:
            # A layout pass resizes the scroll area. Lines of the same lengths
            # wrap the same way, so only a change in a line's length needs one.
            relayout = _line_lengths(text) != _line_lengths(self._shown)
            self._shown = text
            self._body.update(text, layout=relayout)

    def _describe_missing(self, model: RunModel, node_id: str) -> str:
        """Say why `node_id` has no details: the run on screen removed it, or
        the selection is left from another run whose tree had it."""
        printable_id = escape_control(node_id)
        last = self._shown_node
        if last is not None and last[0] is model and last[1] == node_id:
            return f"Node {printable_id} was removed during this run."
        return f"Node {printable_id} is not in this run's tree."

    def _describe(self, model: RunModel, node: NodeView) -> Text:
        text = Text()
        text.append(node.label, "bold")
        text.append(
            f"  {STATE_MARKS[node.state]} {node.state.value.replace('_', ' ')}\n"
        )
        _field(text, "id", escape_control(node.node_id))
        _field(text, "function", node.name + (" (async generator)" * node.is_generator))
        if node.source:
            _field(text, "defined at", node.source)
        if node.declared_type:
            _field(
                text,
                "class",
                f"{node.node_class}[{node.declared_type}]: values must be"
                f" {node.declared_type}",
            )
        elif node.node_class != "Node":
            _field(text, "class", node.node_class)

        _field(text, "why", model.why_not_running(node.node_id))
        if node.error is not None:
            error = error_summary(node.error)
            style = self.get_component_rich_style("node-details--error", partial=True)
            _field(text, "error", escape_control(error), style)

        self._add_debugging(text, node)
        if node.parents:
            text.append("parents\n", "bold")
            for line in edge_lines(model, node):
                text.append(f"  {line}\n")
        else:
            _field(text, "parents", "none")
        children = [model.label(child_id) for child_id in node.children]
        _field(text, "children", ", ".join(children) or "none")

        if node.kwargs:
            text.append("kwargs\n", "bold")
            for name, value in node.kwargs:
                text.append(f"  {name} = {value}\n")
        if node.output_repr is not None:
            kind = node.output_type
            if node.is_generator:
                kind = f"{kind} of every chunk: aggregated_output"
            _field(text, "output", f"{node.output_repr}  ({kind})")
        if node.is_generator or node.chunk_count:
            _field(text, "chunks", str(node.chunk_count))

        self._add_timing(text, model, node)
        # The why row of a finished node already gives its reason.
        if node.end_reason and not node.state.is_finished:
            _field(text, "reason", node.end_reason)
        if node.error_text:
            text.append("traceback\n", "bold")
            text.append(node.error_text)
        text.rstrip()
        return text

    def _add_debugging(self, text: Text, node: NodeView) -> None:
        if node.blocked_at is not None:
            style = self.get_component_rich_style("node-details--error", partial=True)
            _field(text, "blocking", f"the event loop, at {node.blocked_at}", style)
        # The engine's own frames sit above the node's coroutine in every chain.
        frames = [f for f in node.awaiting if not f[0].startswith(_ENGINE_DIR)]
        # While the node blocks the loop, its await chain cannot be read
        # again, and the one read before the block is out of date.
        if frames and node.blocked_at is None:
            file, line, function = frames[-1]
            _field(text, "awaiting", f"{short_location(file, line)} in {function}")
            for file, line, function in reversed(frames[-4:-1]):
                _field(text, "", f"from {short_location(file, line)} in {function}")
        if node.has_breakpoint:
            _field(text, "breakpoint", "the run pauses before each start (b clears)")
        if node.fault is not None:
            _field(text, "fault", f"next run {node.fault}")

    def _add_timing(self, text: Text, model: RunModel, node: NodeView) -> None:
        _field(text, "runs", str(node.runs))
        if node.timeout is not None:
            _field(text, "timeout", f"{node.timeout:g}s")
        for name, moment in (
            ("ready at", node.ready_at),
            ("started at", node.started_at),
            ("finished at", node.finished_at),
        ):
            if moment is not None and model.started_at is not None:
                _field(text, name, f"+{moment - model.started_at:.3f}s")
        duration = node.elapsed(self.clock())
        if duration is not None:
            _field(text, "duration", format_duration(duration))


def _field(text: Text, name: str, value: str, style: Style | str = "") -> None:
    text.append(f"{name:<12}", "bold")
    text.append(value, style)
    text.append("\n")


def edge_lines(model: RunModel, node: NodeView) -> list[str]:
    """Return one line per parent edge: the parameter the parent's output is
    forwarded to and the value the node's last run received there."""
    received = dict(node.kwargs)
    lines = []
    for parent_id, forward in node.parents.items():
        label = model.label(parent_id)
        if forward is None:
            lines.append(f"{label}: passes no data")
        elif node.runs == 0 or forward not in received:
            parent = model.nodes.get(parent_id)
            if parent is not None and parent.state is NodeState.SUCCEEDED:
                lines.append(f"{label} -> {forward}: sent, used when this node starts")
            else:
                lines.append(f"{label} -> {forward}: not received yet")
        else:
            kind = node.kwarg_types.get(forward, "?")
            lines.append(f"{label} -> {forward} = {received[forward]}  ({kind})")
    return lines


def _line_lengths(text: Text) -> list[int]:
    return [len(line) for line in text.plain.split("\n")]
