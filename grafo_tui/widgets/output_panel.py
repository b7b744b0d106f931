"""Text that the pipeline printed on stdout and stderr."""

from __future__ import annotations

from textual.widgets import Log

from grafo_tui.model_views import escape_control


class OutputPanel(Log):
    """The pipeline's printed text, newest last, bounded to `max_lines`."""

    def __init__(self, *, max_lines: int = 10_000, id: str | None = None) -> None:
        super().__init__(max_lines=max_lines, id=id)

    def write_output(self, texts: list[str]) -> None:
        """Append a batch of printed text; a line may arrive in several pieces."""
        data = "".join(texts)
        if data:
            # Escape sequences would reach the terminal through the Log, so
            # control characters are shown escaped; line breaks stay.
            lines = [escape_control(line) for line in data.split("\n")]
            self.write("\n".join(lines), scroll_end=self.is_vertical_scroll_end)
