"""Legend of the tree's marks and the list of keys."""

from __future__ import annotations

from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from grafo_core.events import NodeState
from grafo_tui.screens.dialog import Dialog
from grafo_tui.widgets.task_tree import CYCLE_MARK, SPINNER, STATE_MARKS


def help_legend(keys: list[tuple[str, str]]) -> Group:
    """Return the legend of node marks followed by `(key, description)` rows.

    Marks and keys are laid out in two columns, so that the whole legend fits
    a 40-line terminal without scrolling.
    """
    marks = []
    for state in NodeState:
        mark = SPINNER[:3] + "..." if state is NodeState.RUNNING else STATE_MARKS[state]
        marks.append((mark, state.value.replace("_", " ")))
    # The grid puts 2 spaces after its widest mark.
    mark_width = max(len(mark) for mark, _ in marks) + 2
    notes = Text(
        f"  {CYCLE_MARK:<{mark_width}}the node drawn again under its own descendant "
        "(a cycle)\n"
        "\nA node with several parents is shown under each of them.\n"
        "Next to each node: duration, and chunk count for generators.\n"
        "Space or Enter opens or closes a node.\n"
        "In a tree of over 1,000 lines, later nodes start closed.\n"
        "In the Output tab, 'name │' names the node that printed a line,\n"
        "and '!' marks a line printed on stderr.\n"
    )
    return Group(
        Text("Node marks", "bold"),
        _two_columns(marks),
        notes,
        Text("Keys", "bold"),
        _two_columns(keys),
    )


def _two_columns(rows: list[tuple[str, str]]) -> Padding:
    """Return `(name, description)` rows laid out top to bottom in two
    columns; a description too long for its column wraps."""
    grid = Table.grid(padding=(0, 2), expand=True)
    grid.add_column(no_wrap=True)
    grid.add_column()
    grid.add_column(no_wrap=True)
    # The right column takes the width that the left one leaves.
    grid.add_column(ratio=1)
    height = (len(rows) + 1) // 2
    for index in range(height):
        right = rows[index + height] if index + height < len(rows) else ("", "")
        grid.add_row(*rows[index], *right)
    return Padding(grid, (0, 0, 0, 2))


class HelpScreen(Dialog[None]):
    """The legend and keys; any of escape, ? or q closes it."""

    BINDINGS = [
        Binding("escape,question_mark,q", "close", "Close", id="help.close"),
    ]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose_dialog(self) -> ComposeResult:
        with VerticalScroll(id="dialog") as dialog:
            dialog.border_title = "Help"
            dialog.border_subtitle = "Escape, ? or q to close"
            yield Static(help_legend(self.keys))

    def action_close(self) -> None:
        self.dismiss(None)
