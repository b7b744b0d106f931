"""Chunks and results of every node, newest last, in a bounded line store."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from grafo_tui.model import NODE_COLOURS, LogLine
from grafo_tui.skipped_lines import SkippedLine, collapse_skipped


class ChunkLog(ScrollView, can_focus=True):
    """Log lines of the engine's events, drawn with Textual's line API.

    Only the last `max_lines` lines are kept; the first line of the view shows
    how many were dropped. The view follows new lines unless the user
    scrolled up, and can be filtered to one node. Adjacent `SkippedLine`s of
    one group are merged into one line, also when they arrive in two batches.
    """

    COMPONENT_CLASSES = {
        "chunk-log--time",
        "chunk-log--dropped",
        "chunk-log--result",
        "chunk-log--error",
        "chunk-log--warning",
        "chunk-log--run",
        "chunk-log--graph",
        "chunk-log--skipped",
        *(f"chunk-log--node-{index}" for index in range(NODE_COLOURS)),
    }

    DEFAULT_CSS = """
    ChunkLog { background: $surface; overflow-x: scroll; }
    ChunkLog > .chunk-log--time { color: $text-muted; }
    ChunkLog > .chunk-log--dropped { color: $text-warning; text-style: italic; }
    ChunkLog > .chunk-log--result { color: $text-success; }
    ChunkLog > .chunk-log--error { color: $text-error; }
    ChunkLog > .chunk-log--warning { color: $text-warning; text-style: bold; }
    ChunkLog > .chunk-log--graph { color: $text-muted; text-style: italic; }
    ChunkLog > .chunk-log--skipped { color: $text-muted; }
    ChunkLog > .chunk-log--run { color: $text-muted; text-style: bold; }
    ChunkLog > .chunk-log--node-0 { color: $text-primary; }
    ChunkLog > .chunk-log--node-1 { color: $text-accent; }
    ChunkLog > .chunk-log--node-2 { color: $text-secondary; }
    ChunkLog > .chunk-log--node-3 { color: $text-warning; }
    ChunkLog > .chunk-log--node-4 { color: $text-success; }
    ChunkLog > .chunk-log--node-5 { color: $foreground; text-style: bold; }
    """

    def __init__(self, *, max_lines: int = 10_000, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self.dropped = 0
        """Lines removed from the store because it was full."""
        self.filter_id: str | None = None
        """Show only the lines of this node, or every line when `None`."""
        self._lines: list[LogLine] = []
        self._view: list[LogLine] = []
        self._width = 0
        self._label_width = 8

    @property
    def lines(self) -> list[LogLine]:
        """The stored lines, oldest first."""
        return self._lines

    @property
    def visible_lines(self) -> list[LogLine]:
        """The stored lines that pass the filter."""
        return self._view

    def write_lines(self, lines: Iterable[LogLine]) -> None:
        """Append a batch of lines, keep the newest `max_lines`, repaint once."""
        new_lines = list(lines)
        if not new_lines:
            return
        follow = self.is_vertical_scroll_end
        last = self._lines[-1] if self._lines else None
        if isinstance(last, SkippedLine) and last.joins(new_lines[0]):
            # The rest of a burst of skips that the previous batch began.
            new_lines.insert(0, self._lines.pop())
        new_lines = collapse_skipped(new_lines)
        self._lines.extend(new_lines)
        overflow = len(self._lines) - self.max_lines
        if overflow > 0:
            del self._lines[:overflow]
            self.dropped += overflow
        self._view = self._filtered()
        for line in new_lines:
            self._label_width = min(24, max(self._label_width, len(line.label)))
            self._width = max(self._width, len(line.text) + self._label_width + 12)
        self._update_size(follow=follow)

    def set_filter(self, node_id: str | None) -> None:
        """Show only the lines of `node_id`, or every line when `None`."""
        self.filter_id = node_id
        self._view = self._filtered()
        self._update_size(follow=True)

    def _filtered(self) -> list[LogLine]:
        """Return the lines the filter lets through. Run-wide lines (a run
        started, paused or finished) stay, so the runs stay apart, and so do
        lines of skipped nodes that list the node."""
        node_id = self.filter_id
        if node_id is None:
            return self._lines
        return [
            line
            for line in self._lines
            if line.node_id == node_id
            or line.kind == "run"
            or (type(line) is SkippedLine and node_id in line.skipped_ids)
        ]

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        index = scroll_y + y - self._header_height
        base_style = self.rich_style
        if index < -1 or index >= len(self._view):
            return Strip.blank(width, base_style)
        text = (
            self._header_text() if index == -1 else self._line_text(self._view[index])
        )
        strip = Strip(text.render(self.app.console), text.cell_len)
        strip = strip.apply_style(base_style)
        return strip.crop_extend(scroll_x, scroll_x + width, base_style)

    @property
    def _header_height(self) -> int:
        return 1 if self.dropped or self.filter_id is not None else 0

    def _header_text(self) -> Text:
        style = self.get_component_rich_style("chunk-log--dropped", partial=True)
        parts = []
        if self.dropped:
            parts.append(f"{self.dropped} earlier lines dropped")
        if self.filter_id is not None:
            parts.append(f"showing node {self.filter_id} and run lines (f shows all)")
        return Text("; ".join(parts), style=style, no_wrap=True, end="")

    def _line_text(self, line: LogLine) -> Text:
        text = Text(no_wrap=True, end="")
        text.append(f"{line.time:8.3f} ", self._style("time"))
        if line.kind == "run":
            text.append(line.text, self._style("run"))
            return text
        label = line.label.ljust(self._label_width)
        text.append(label, self._style(f"node-{line.colour % NODE_COLOURS}"))
        text.append(" ")
        if line.kind == "chunk":
            text.append(line.text)
        elif type(line) is SkippedLine and self.filter_id is not None:
            text.append(line.text_naming(self.filter_id), self._style(line.kind))
        else:
            text.append(line.text, self._style(line.kind))
        return text

    def _style(self, name: str):
        return self.get_component_rich_style(f"chunk-log--{name}", partial=True)

    def _update_size(self, *, follow: bool) -> None:
        self.virtual_size = Size(self._width, len(self._view) + self._header_height)
        if follow:
            self.scroll_to(
                y=self.max_scroll_y, animate=False, force=True, immediate=True
            )
        self.refresh()
