"""Text that the pipeline printed on stdout and stderr."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

from rich.segment import Segment
from textual.geometry import Size
from textual.strip import Strip
from textual.widgets import Log

from grafo_tui.model_views import escape_control
from grafo_tui.output_capture import OutputWritten

STDERR_MARK = "! "
"""Start of every line written to stderr, so that it reads without colour."""

NODE_SEPARATOR = " │ "
"""Between the label of the node that wrote a line and the line."""


class OutputPanel(Log):
    """The pipeline's printed text, newest last, bounded to `max_lines`.

    A line that a node's code wrote starts with the node's label and
    `NODE_SEPARATOR`, which keeps the output of concurrent nodes apart.
    Lines written to stderr start with `STDERR_MARK` and are drawn in the
    theme's error colour.

    Attributes:
        label_of: Returns the label to show for a node id; the id itself
            when it is not set.
    """

    COMPONENT_CLASSES = {"output-panel--stderr"}

    DEFAULT_CSS = """
    OutputPanel > .output-panel--stderr { color: $text-error; }
    """

    def __init__(self, *, max_lines: int = 10_000, id: str | None = None) -> None:
        super().__init__(max_lines=max_lines, id=id)
        self.label_of: Callable[[str], str] | None = None
        self._told_about_dropping = False
        self._end_when_shown = False
        # Rows are counted from the first line ever written, so that the
        # numbers stay valid when the Log drops its oldest lines.
        self._rows_dropped = 0
        self._stderr_rows: set[int] = set()
        self._stderr_order: deque[int] = deque()
        # The stream and node of the last line when it has no line break yet.
        self._open_line: tuple[str, str | None] | None = None

    def on_show(self) -> None:
        if self._end_when_shown:
            self._end_when_shown = False
            self.call_after_refresh(self.scroll_end, animate=False)

    def write_output(self, pieces: Sequence[str | OutputWritten]) -> None:
        """Append a batch of printed text; a line may arrive in several pieces.

        A `str` piece is text printed on stdout.
        """
        data = self._mark_streams(pieces)
        if not data:
            return
        # A panel in a hidden tab has no height and the user has not scrolled
        # it, so it follows the tail and opens on the newest lines.
        hidden = not self.size.height
        follow = self.is_vertical_scroll_end or hidden
        self._end_when_shown = self._end_when_shown or hidden
        stored = max(len(self.lines), 1) + data.count("\n")
        self.write(data, scroll_end=follow)
        self._forget_dropped_rows(stored - len(self.lines))
        if self.virtual_size.height > self.line_count:
            # NOTE: Textual 8.2.8's Log drops old lines but keeps the virtual
            # height of every line ever written. The panel then scrolled past
            # its text and showed nothing, so this sets the height back.
            self.virtual_size = Size(self.virtual_size.width, self.line_count)
            if follow or self.scroll_y > self.max_scroll_y:
                self.scroll_end(animate=False)
            if not self._told_about_dropping:
                self._told_about_dropping = True
                self.notify(
                    f"The Output tab keeps the last {self.max_lines:,} printed "
                    "lines; earlier ones are dropped.",
                    timeout=6,
                )

    def is_stderr_line(self, index: int) -> bool:
        """Return whether `lines[index]` was written to stderr."""
        return index + self._rows_dropped in self._stderr_rows

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        if not self.is_stderr_line(self.scroll_offset.y + y):
            return strip
        style = self.get_component_rich_style("output-panel--stderr", partial=True)
        return Strip(Segment.apply_style(strip, post_style=style), strip.cell_length)

    def clear(self) -> OutputPanel:
        self._rows_dropped = 0
        self._stderr_rows.clear()
        self._stderr_order.clear()
        self._open_line = None
        return super().clear()

    def _mark_streams(self, pieces: Sequence[str | OutputWritten]) -> str:
        """Return the text to write for `pieces`, recording the stderr rows.

        Control characters are escaped, because escape sequences would reach
        the terminal through the Log; line breaks stay. A line that one
        stream or node left open is ended before another one writes.
        """
        parts: list[str] = []
        row = self._rows_dropped + max(len(self.lines) - 1, 0)
        at_line_start = not self.lines or self.lines[-1] == ""
        for piece in pieces:
            node = ""
            node_id = None
            if isinstance(piece, OutputWritten):
                stream, text, node_id = piece.stream, piece.text, piece.node_id
                if node_id is not None:
                    node = self._node_prefix(node_id)
            else:
                stream, text = "stdout", piece
            if not text:
                continue
            if not at_line_start and (stream, node_id) != self._open_line:
                parts.append("\n")
                row += 1
                at_line_start = True
            for index, line in enumerate(text.split("\n")):
                if index:
                    parts.append("\n")
                    row += 1
                    at_line_start = True
                if not line:
                    continue
                if stream == "stderr" and at_line_start:
                    parts.append(STDERR_MARK)
                    self._stderr_rows.add(row)
                    self._stderr_order.append(row)
                if node and at_line_start:
                    parts.append(node)
                parts.append(escape_control(line))
                at_line_start = False
            self._open_line = None if at_line_start else (stream, node_id)
        return "".join(parts)

    def _node_prefix(self, node_id: str) -> str:
        label = self.label_of(node_id) if self.label_of is not None else node_id
        return escape_control(label) + NODE_SEPARATOR

    def _forget_dropped_rows(self, count: int) -> None:
        self._rows_dropped += count
        while self._stderr_order and self._stderr_order[0] < self._rows_dropped:
            self._stderr_rows.discard(self._stderr_order.popleft())
