"""Confirmation before removing a node from the running tree."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from grafo_core.events import NodeState
from grafo_tui.model import RunModel
from grafo_tui.screens.dialog import Dialog

CASCADE = "cascade"
SINGLE = "single"


def describe_removal(model: RunModel, node_id: str) -> str:
    """Return what removing `node_id` does, in a few plain sentences."""
    node = model.nodes[node_id]
    lines = [f"Remove {node.label}?"]
    if node.state in (NodeState.RUNNING, NodeState.READY):
        lines.append(f"It is {node.state.value}, so it is cancelled first.")
    orphans = model.orphaned_by_removal(node_id)
    if orphans:
        names = ", ".join(model.label(i) for i in orphans[:8])
        more = f" and {len(orphans) - 8} more" if len(orphans) > 8 else ""
        count = (
            "1 descendant has"
            if len(orphans) == 1
            else f"{len(orphans)} descendants have"
        )
        lines.append(
            f"{count} no other way from a root: {names}{more}. "
            "'Remove with descendants' removes them too; "
            "'Remove only this node' leaves them cut off, so they never start."
        )
    takers = _forward_takers(model, node_id, orphans)
    for child_id, parameter in takers[:4]:
        child = model.label(child_id)
        lines.append(
            f"{child} takes its {parameter!r} argument from {node.label}, so "
            f"{child} fails unless that argument is set some other way."
        )
    if not orphans and not takers:
        lines.append("No descendant depends on it alone.")
    return "\n".join(lines)


def _forward_takers(
    model: RunModel, node_id: str, orphans: list[str]
) -> list[tuple[str, str]]:
    """Return ``(child id, parameter)`` for each child that still waits for
    the output `node_id` forwards to it and keeps another parent."""
    node = model.nodes[node_id]
    if node.state is NodeState.SUCCEEDED:
        return []  # the value was written into the children already
    takers = []
    for child_id in node.children:
        child = model.nodes.get(child_id)
        if child is None or child_id in orphans or child.state.is_finished:
            continue
        parameter = child.parents.get(node_id)
        if parameter is not None:
            takers.append((child_id, parameter))
    return takers


class RemoveNodeScreen(Dialog[str | None]):
    """Say what removing a node does; dismiss with `CASCADE`, `SINGLE` or `None`."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="remove_node.cancel"),
    ]

    def __init__(self, model: RunModel, node_id: str) -> None:
        super().__init__()
        self.description = describe_removal(model, node_id)
        self.has_orphans = bool(model.orphaned_by_removal(node_id))

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = "Remove a node"
            yield Static(Text(self.description))
            with Horizontal(classes="buttons"):
                if self.has_orphans:
                    yield Button("Remove with descendants", "error", id=CASCADE)
                    yield Button("Remove only this node", "warning", id=SINGLE)
                else:
                    yield Button("Remove", "error", id=CASCADE)
                yield Button("Cancel", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        choice = event.button.id
        self.dismiss(choice if choice in (CASCADE, SINGLE) else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
