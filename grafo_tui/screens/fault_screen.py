"""Modal that arms a fault on a node's next run: a failure, a delay, or both."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Static

from grafo_tui.screens.dialog import FormDialog


@dataclass(frozen=True, slots=True)
class FaultRequest:
    """Arguments of `TreeExecutor.inject_fault` for one node.

    Attributes:
        error: The message of the `InjectedFault` to raise, or `None` to let
            the run go on after the delay.
        delay: Extra seconds the run takes first, counted in its timeout.
    """

    error: str | None
    delay: float

    def describe(self) -> str:
        """Return what the fault does, as a phrase after "next run"."""
        parts = []
        if self.delay:
            parts.append(f"takes {self.delay:g} s longer")
        if self.error is not None:
            parts.append(f"fails with InjectedFault({self.error!r})")
        return " and then ".join(parts)


def parse_fault_form(
    error_text: str, delay_text: str
) -> tuple[FaultRequest | None, dict[str, str]]:
    """Validate the form's fields.

    Returns:
        The request and no errors when the fields are valid, else `None` and
        one message per invalid field, keyed by the field's name.
    """
    errors: dict[str, str] = {}
    error = error_text.strip() or None
    delay = 0.0
    delay_text = delay_text.strip()
    if delay_text:
        try:
            delay = float(delay_text)
        except ValueError:
            errors["delay"] = f"{delay_text!r} is not a number of seconds."
        else:
            if not 0 <= delay < float("inf"):
                errors["delay"] = "The delay must be 0 or more seconds."
    if not errors and error is None and delay == 0:
        errors["error"] = "Enter an error message, a delay, or both."
    if errors:
        return None, errors
    return FaultRequest(error, delay), errors


class FaultScreen(FormDialog[FaultRequest | None]):
    """Ask how the node's next run should misbehave; dismiss with the request."""

    CONFIRM_ID = "inject"

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="fault.cancel"),
    ]

    def __init__(self, node_label: str) -> None:
        super().__init__()
        self.node_label = node_label

    def compose_dialog(self) -> ComposeResult:
        with VerticalScroll(can_focus=False, id="dialog") as dialog:
            dialog.border_title = "Inject a fault"
            yield Static(
                Text(
                    f"The next run of {self.node_label} first waits the delay, "
                    f"then fails when an error message is given."
                )
            )
            with Horizontal(classes="row"):
                yield Label("error")
                yield Input(
                    "injected by grafo-tui",
                    placeholder="empty: do not fail",
                    id="error",
                )
            with Horizontal(classes="row"):
                yield Label("delay (s)")
                yield Input("0", placeholder="extra seconds", id="delay")
            yield Static("", id="errors", classes="errors")
            with Horizontal(classes="buttons"):
                yield Button("Inject", variant="warning", id="inject")
                yield Button("Cancel", id="cancel")

    def submit(self) -> None:
        request, errors = parse_fault_form(
            self.query_one("#error", Input).value,
            self.query_one("#delay", Input).value,
        )
        for field in ("error", "delay"):
            self.query_one(f"#{field}", Input).set_class(field in errors, "-invalid")
        message = Text("\n".join(f"{k}: {v}" for k, v in errors.items()))
        self.query_one("#errors", Static).update(message)
        if request is not None:
            self.dismiss(request)
