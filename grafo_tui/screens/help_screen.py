"""Legend of the tree's marks and the list of keys."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from grafo_core.events import NodeState
from grafo_tui.screens.dialog import Dialog
from grafo_tui.widgets.task_tree import CYCLE_MARK, SPINNER, STATE_MARKS


def legend_text(keys: list[tuple[str, str]]) -> Text:
    """Return the legend of node marks followed by `(key, description)` rows."""
    text = Text()
    text.append("Node marks\n", "bold")
    for state in NodeState:
        mark = SPINNER[:3] + "..." if state is NodeState.RUNNING else STATE_MARKS[state]
        text.append(f"  {mark:<7}{state.value.replace('_', ' ')}\n")
    text.append(f"  {CYCLE_MARK:<7}the node appears again among its ancestors\n")
    text.append("\nA node with several parents is shown under each of them.\n")
    text.append("Next to each node: duration, and chunk count for generators.\n")
    text.append("Space or Enter opens or closes a node.\n")
    text.append("In a tree of over 1,000 lines, later nodes start closed.\n")
    text.append("\nKeys\n", "bold")
    for key, description in keys:
        text.append(f"  {key:<10}{description}\n")
    text.rstrip()
    return text


class HelpScreen(Dialog[None]):
    """The legend and keys; any of escape, ? or q closes it."""

    BINDINGS = [
        Binding("escape,question_mark,q", "close", "Close", id="help.close"),
    ]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog") as dialog:
            dialog.border_title = "Help"
            dialog.border_subtitle = "Escape, ? or q to close"
            yield Static(legend_text(self.keys))

    def action_close(self) -> None:
        self.dismiss(None)
