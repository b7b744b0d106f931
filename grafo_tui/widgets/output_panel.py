"""Text that the pipeline printed on stdout and stderr."""

from __future__ import annotations

from textual.geometry import Size
from textual.widgets import Log

from grafo_tui.model_views import escape_control


class OutputPanel(Log):
    """The pipeline's printed text, newest last, bounded to `max_lines`."""

    def __init__(self, *, max_lines: int = 10_000, id: str | None = None) -> None:
        super().__init__(max_lines=max_lines, id=id)
        self._told_about_dropping = False
        self._end_when_shown = False

    def on_show(self) -> None:
        if self._end_when_shown:
            self._end_when_shown = False
            self.call_after_refresh(self.scroll_end, animate=False)

    def write_output(self, texts: list[str]) -> None:
        """Append a batch of printed text; a line may arrive in several pieces."""
        data = "".join(texts)
        if not data:
            return
        # Escape sequences would reach the terminal through the Log, so
        # control characters are shown escaped; line breaks stay.
        lines = [escape_control(line) for line in data.split("\n")]
        # A panel in a hidden tab has no height and the user has not scrolled
        # it, so it follows the tail and opens on the newest lines.
        hidden = not self.size.height
        follow = self.is_vertical_scroll_end or hidden
        self._end_when_shown = self._end_when_shown or hidden
        self.write("\n".join(lines), scroll_end=follow)
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
