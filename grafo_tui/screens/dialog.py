"""`Dialog`: the base of the app's modal screens."""

from __future__ import annotations

from typing import TypeVar

from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input

ResultType = TypeVar("ResultType")


class Dialog(ModalScreen[ResultType]):
    """A modal screen that closes once, however fast keys arrive, with a
    footer of its own keys."""

    def compose(self) -> ComposeResult:
        yield from self.compose_dialog()
        # A footer lists the keys of its own screen. Without one here, the
        # main screen's footer shows through and lists keys that do nothing
        # while the dialog is open: a modal screen stops the key lookup, so
        # the app's bindings do not apply.
        yield Footer()

    def compose_dialog(self) -> ComposeResult:
        """Yield the dialog's widgets; `compose` adds the footer under them."""
        raise NotImplementedError

    def dismiss(self, result: ResultType | None = None) -> AwaitComplete:
        """Close the dialog with `result`; later calls do nothing.

        A second Enter or Escape can arrive before the first one has popped
        the screen, and popping it twice raises `ScreenStackError`.
        """
        if not self.is_current:
            return AwaitComplete()
        return super().dismiss(result)


class FormDialog(Dialog[ResultType]):
    """A dialog with inputs, a confirm button and a cancel button.

    Enter in an input, or the button whose id is `CONFIRM_ID`, calls
    `submit`. Any other button, or the `cancel` action, dismisses the dialog
    with `None`.
    """

    CONFIRM_ID = "confirm"

    def submit(self) -> None:
        """Validate the fields; dismiss with the result when they are valid."""
        raise NotImplementedError

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == self.CONFIRM_ID:
            self.submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
