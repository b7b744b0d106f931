"""The loaded file's docstring."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static


class AboutPanel(VerticalScroll):
    """The docstring of the pipeline file, shown as plain text."""

    DEFAULT_CSS = """
    AboutPanel { padding: 0 1; }
    """

    def __init__(self, module_doc: str | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.module_doc = module_doc

    def compose(self):
        if self.module_doc:
            yield Static(Text(self.module_doc.strip()))
        else:
            yield Static(Text("The loaded file has no module docstring."))
