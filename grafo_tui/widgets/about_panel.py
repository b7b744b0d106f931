"""The loaded file's docstring."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

_LIST_ITEM = re.compile(r"(\s*)([-*+]|\d+[.)])\s+")
_UNDERLINE = re.compile(r"([=\-~^*#+])\1{2,}")


@dataclass(slots=True)
class DocBlock:
    """One line of the docstring as shown: a paragraph, a list item or a
    line kept as written.

    Attributes:
        text: The words, with the source's line breaks turned into spaces.
        marker: The list item's indentation and bullet or number, or "".
        reflows: Whether lines that follow may be joined to `text`.
        indent: The indentation that a line needs to be joined to `text`.
    """

    text: str
    marker: str = ""
    reflows: bool = False
    indent: int = 0


def docstring_blocks(doc: str) -> list[DocBlock]:
    """Split a docstring into paragraphs and list items, each on one line.

    Docstrings are wrapped by hand at about 79 columns, and those line breaks
    would leave a one-word line wherever the panel is a little narrower. A
    line is joined to the one before when both are prose: not blank, not a
    list item, not an underline, table or fenced code. Indented lines that
    continue no list item, such as code examples, are kept as written.
    """
    blocks: list[DocBlock] = []
    fenced = False
    for line in doc.split("\n"):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if stripped.startswith("```"):
            fenced = not fenced
            blocks.append(DocBlock(line))
            continue
        item = _LIST_ITEM.match(line)
        prose = (
            bool(stripped)
            and not fenced
            and not _UNDERLINE.fullmatch(stripped)
            and "   " not in stripped
        )
        last = blocks[-1] if blocks else None
        if prose and item is None and last and last.reflows and last.indent == indent:
            last.text += " " + stripped
        elif prose and item is not None:
            marker = item.group(0)
            blocks.append(DocBlock(line[len(marker) :], marker, True, len(marker)))
        else:
            blocks.append(DocBlock(line, reflows=prose and indent == 0))
    return blocks


def render_docstring(doc: str) -> RenderableType:
    """Return the docstring with paragraphs reflowed to the panel's width.

    A list item's wrapped lines start under its text, not under its marker.
    """
    parts: list[RenderableType] = []
    for block in docstring_blocks(doc):
        if not block.marker:
            parts.append(Text(block.text))
            continue
        grid = Table.grid(expand=True)
        grid.add_column(no_wrap=True, width=len(block.marker))
        grid.add_column(ratio=1)
        grid.add_row(Text(block.marker), Text(block.text))
        parts.append(grid)
    return Group(*parts)


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
            yield Static(render_docstring(self.module_doc.strip()))
        else:
            yield Static(Text("The loaded file has no module docstring."))
