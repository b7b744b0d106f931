"""Modal that asks for the id or label of the node to jump to."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.suggester import SuggestFromList
from textual.widgets import Input, Static

from grafo_tui.screens.dialog import Dialog


class JumpScreen(Dialog[str | None]):
    """Read a node id (or label); dismiss with the node's id, or `None`."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="jump.cancel"),
    ]

    def __init__(self, labels: dict[str, str]) -> None:
        """Offer the nodes of `labels`, which maps each node id to its label."""
        super().__init__()
        self.labels = labels

    def compose_dialog(self) -> ComposeResult:
        names: Iterable[str] = [*self.labels, *self.labels.values()]
        with VerticalScroll(can_focus=False, id="dialog") as dialog:
            dialog.border_title = "Jump to node"
            yield Input(
                placeholder="node id or label",
                suggester=SuggestFromList(names, case_sensitive=False),
                id="jump-id",
            )
            yield Static("", id="errors", classes="errors")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        node_id = self._find(text)
        if node_id is None and text:
            # Enter takes the completion the input shows in grey, as Tab or
            # the right arrow would.
            completion = self._completion(text)
            if completion is not None:
                node_id = self._find(completion)
        if node_id is None:
            message = Text(
                f"No node has the id or label {text!r}. Edit it, or press "
                "Escape to close."
            )
            self.query_one("#errors", Static).update(message)
            return
        self.dismiss(node_id)

    def _completion(self, text: str) -> str | None:
        """Return the first id or label that starts with `text`, ignoring
        case, which is the completion that `SuggestFromList` shows."""
        folded = text.casefold()
        for name in [*self.labels, *self.labels.values()]:
            if name.casefold().startswith(folded):
                return name
        return None

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _find(self, text: str) -> str | None:
        if text in self.labels:
            return text
        for node_id, label in self.labels.items():
            if label == text:
                return node_id
        return None
