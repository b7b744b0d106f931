"""Confirmation before removing a node from the running tree."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
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
        fate = _cut_off_fate(model, orphans)
        lines.append(
            f"{count} no other way from a root: {names}{more}. "
            "'Remove with descendants' removes them too; "
            f"'Remove only this node' leaves them cut off, {fate}"
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


def _cut_off_fate(model: RunModel, orphans: list[str]) -> str:
    """Return what happens to `orphans` once they are cut off: the waiting
    ones never start, and the others are queued, running or finished."""
    moved_on = [i for i in orphans if model.nodes[i].state is not NodeState.WAITING]
    if not moved_on:
        return "so they never start."
    names = ", ".join(model.label(i) for i in moved_on[:4])
    more = f" and {len(moved_on) - 4} more" if len(moved_on) > 4 else ""
    if len(moved_on) == len(orphans):
        return (
            "but none of them is waiting: each is queued, running or finished "
            f"already ({names}{more})."
        )
    verb = "is" if len(moved_on) == 1 else "are"
    return (
        f"so the waiting ones never start; {names}{more} {verb} queued, running "
        "or finished already."
    )


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
    """Say what removing a node does; dismiss with `CASCADE`, `SINGLE` or `None`.

    The app calls `show` as the run goes on, so the text and buttons follow
    the node's state and its children's while the dialog is open.
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="remove_node.cancel"),
    ]

    def __init__(self, model: RunModel, node_id: str) -> None:
        super().__init__()
        self.model = model
        self.node_id = node_id
        self.label = model.label(node_id)
        self.description = describe_removal(model, node_id)
        self.has_orphans = bool(model.orphaned_by_removal(node_id))
        self.removable = True

    def compose_dialog(self) -> ComposeResult:
        with VerticalScroll(can_focus=False, id="dialog") as dialog:
            dialog.border_title = "Remove a node"
            yield Static(Text(self.description), id="description")
            with Horizontal(classes="buttons"):
                # Set up as `_show_buttons` would, so the first layout is the
                # final one and a click right after opening lands.
                cascade = Button(self._cascade_label(), "error", id=CASCADE)
                single = Button("Remove only this node", "warning", id=SINGLE)
                single.display = self.has_orphans
                yield cascade
                yield single
                yield Button("Cancel", id="cancel")

    def show(self, model: RunModel) -> None:
        """Describe the removal again from `model`, the app's model now."""
        node_gone = model is not self.model or self.node_id not in model.nodes
        if node_gone or model.is_finished:
            description = (
                f"{self.label} is no longer in a running tree: it was removed or "
                "its run ended, so there is nothing to remove."
            )
            has_orphans, removable = False, False
        else:
            description = describe_removal(model, self.node_id)
            has_orphans = bool(model.orphaned_by_removal(self.node_id))
            removable = True
        if description != self.description:
            self.description = description
            self.query_one("#description", Static).update(Text(description))
        if (has_orphans, removable) != (self.has_orphans, self.removable):
            self.has_orphans, self.removable = has_orphans, removable
            self._show_buttons()

    def _cascade_label(self) -> str:
        return "Remove with descendants" if self.has_orphans else "Remove"

    def _show_buttons(self) -> None:
        cascade = self.query_one(f"#{CASCADE}", Button)
        cascade.label = self._cascade_label()
        cascade.display = self.removable
        self.query_one(f"#{SINGLE}", Button).display = self.has_orphans
        if not self.removable:
            self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        choice = event.button.id
        self.dismiss(choice if choice in (CASCADE, SINGLE) else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
