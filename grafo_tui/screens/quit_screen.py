"""Confirmation before quitting while a run is in progress."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Static

from grafo_tui.screens.dialog import Dialog


class QuitScreen(Dialog[bool]):
    """Ask whether to stop the run and quit; dismiss with `True` to quit."""

    BINDINGS = [
        Binding("escape", "stay", "Stay", id="quit.stay"),
        Binding("y", "quit_now", "Quit", id="quit.confirm"),
    ]

    def compose_dialog(self) -> ComposeResult:
        with VerticalScroll(can_focus=False, id="dialog") as dialog:
            dialog.border_title = "Quit"
            dialog.border_subtitle = "y or Ctrl+Q to quit, Escape to stay"
            yield Static("A run is in progress. Stop it and quit?", id="question")
            with Horizontal(classes="buttons"):
                yield Button("Quit", "error", id="quit")
                yield Button("Stay", id="stay")

    def run_ended(self) -> None:
        """Change the question to say that the run has ended."""
        self.query_one("#question", Static).update("The run has ended. Quit?")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "quit")

    def action_stay(self) -> None:
        self.dismiss(False)

    def action_quit_now(self) -> None:
        self.dismiss(True)
