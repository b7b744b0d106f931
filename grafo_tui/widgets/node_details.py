"""Everything known about the node under the tree's cursor."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

import grafo_core
from grafo_core.events import NodeState
from grafo_tui.model import (
    NodeView,
    RunModel,
    error_summary,
    escape_control,
    innermost_user_frame,
    short_location,
)
from grafo_tui.widgets.task_tree import STATE_MARKS, format_duration

_ENGINE_DIR = os.path.dirname(grafo_core.__file__) + os.sep

MAX_ROW_LINES = 3
"""Screen lines that one row of the panel takes at most. A longer value is
cut with an ellipsis, so that the rows below it stay in view."""

ELLIPSIS = "…"


class NodeDetails(VerticalScroll):
    """State, edges, arguments, output, timing and error of one node."""

    COMPONENT_CLASSES = {"node-details--error", "node-details--hint"}

    DEFAULT_CSS = """
    NodeDetails { padding: 0 1; }
    NodeDetails > Static { width: 1fr; }
    NodeDetails > .node-details--error { color: $text-error; text-style: bold; }
    NodeDetails > .node-details--hint { color: $text-muted; }
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
        # The last request, shown again when a new width changes the cuts.
        self._request: tuple[RunModel, str | None] | None = None

    def compose(self):
        yield self._body

    def on_resize(self) -> None:
        if self._request is not None:
            self.show(*self._request)

    def show(self, model: RunModel, node_id: str | None) -> None:
        """Show the details of `node_id` in `model`, or a hint when it is `None`."""
        self._request = (model, node_id)
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

    def _row_width(self) -> int:
        """Return the width that rows wrap at, 0 before the first layout."""
        width = self.scrollable_content_region.width
        # Cut rows to fit the narrower width the scrollbar leaves, which
        # they may need once it appears.
        if not self.show_vertical_scrollbar:
            width -= self.styles.scrollbar_size_vertical
        return max(width, 0)

    def _describe(self, model: RunModel, node: NodeView) -> Text:
        width = self._row_width()
        text = Text()
        text.append(node.label, "bold")
        text.append(
            f"  {STATE_MARKS[node.state]} {node.state.value.replace('_', ' ')}\n"
        )
        _field(text, "id", escape_control(node.node_id))
        # The label and id are shown whole however long, so they stay out
        # of the rows that clamp_rows may cut.
        head, text = text, Text()
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
            error = escape_control(error_summary(node.error))
            style = self.get_component_rich_style("node-details--error", partial=True)
            # The traceback ends with the same line, and it is never cut.
            hint = ""
            if node.error_text:
                hint = "full message in traceback"
            self._add_cut_field(text, "error", error, width, hint=hint, style=style)

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
            self._add_output(text, node, width)
        if node.is_generator or node.chunk_count:
            _field(text, "chunks", str(node.chunk_count))

        self._add_timing(text, model, node)
        # The why row of a finished node already gives its reason.
        if node.end_reason and not node.state.is_finished:
            _field(text, "reason", node.end_reason)
        # The traceback is the last row and is shown whole.
        text = head.append_text(clamp_rows(text, width))
        if node.error_text:
            text.append("traceback\n", "bold")
            text.append(node.error_text)
        text.rstrip()
        return text

    def _add_output(self, text: Text, node: NodeView, width: int) -> None:
        kind = node.output_type
        if node.is_generator:
            kind = f"{kind} of every chunk: aggregated_output"
        # A cut value keeps its type at the end of the row. The Log's result
        # line contains the same repr, in one line that scrolls sideways.
        suffix = f"  ({kind})"
        self._add_cut_field(
            text,
            "output",
            f"{node.output_repr}{suffix}",
            width,
            hint="full value in the Log tab",
            keep_tail=len(suffix),
        )

    def _add_cut_field(
        self,
        text: Text,
        name: str,
        value: str,
        width: int,
        *,
        hint: str,
        style: Style | str = "",
        keep_tail: int = 0,
    ) -> None:
        """Add a row cut by `clamp_row`, and `hint` under it when it was cut."""
        row = Text()
        _field(row, name, value, style)
        row.rstrip()
        clamped = clamp_row(row, width, keep_tail=keep_tail)
        text.append_text(clamped)
        text.append("\n")
        if clamped is not row and hint:
            hint_style = self.get_component_rich_style(
                "node-details--hint", partial=True
            )
            _field(text, "", hint, hint_style)

    def _add_debugging(self, text: Text, node: NodeView) -> None:
        if node.blocked_at is not None:
            style = self.get_component_rich_style("node-details--error", partial=True)
            _field(text, "blocking", f"the event loop, at {node.blocked_at}", style)
        # The engine's own frames sit above the node's coroutine in every chain.
        frames = [f for f in node.awaiting if not f[0].startswith(_ENGINE_DIR)]
        # While the node blocks the loop, its await chain cannot be read
        # again, and the one read before the block is out of date.
        if frames and node.blocked_at is None:
            # The pipeline's own line, not the `asyncio.sleep` it awaits.
            index = innermost_user_frame(frames)
            file, line, function = frames[index]
            _field(text, "awaiting", f"{short_location(file, line)} in {function}")
            for file, line, function in reversed(frames[max(0, index - 3) : index]):
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


def clamp_rows(text: Text, width: int) -> Text:
    """Return `text` with each of its lines cut by `clamp_row`."""
    rows = text.split("\n", allow_blank=True)
    return Text("\n").join(clamp_row(row, width) for row in rows)


def clamp_row(row: Text, width: int, *, keep_tail: int = 0) -> Text:
    """Return `row` cut with an ellipsis to wrap to `MAX_ROW_LINES` lines.

    The last `keep_tail` characters stay after the ellipsis. Returns `row`
    itself when it fits, or when `width` is 0 because the panel has no size.
    """
    if width <= 0 or _wrapped_height(row, width) <= MAX_ROW_LINES:
        return row
    head = row[: len(row) - keep_tail]
    tail = row[len(row) - keep_tail :] if keep_tail else Text()
    # The maximum head length that fits, found by bisection.
    low, high = 0, len(head)
    while low < high:
        middle = (low + high + 1) // 2
        if _wrapped_height(_cut(head, middle, tail), width) <= MAX_ROW_LINES:
            low = middle
        else:
            high = middle - 1
    return _cut(head, low, tail)


def _cut(head: Text, length: int, tail: Text) -> Text:
    cut = head[:length]
    cut.rstrip()
    cut.append(ELLIPSIS)
    cut.append_text(tail)
    return cut


def _wrapped_height(row: Text, width: int) -> int:
    # Textual's own wrapping, which the Static that shows the row uses.
    return len(Content.from_rich_text(row).wrap(width))


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
