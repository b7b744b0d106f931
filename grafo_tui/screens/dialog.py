"""`Dialog`: the base of the app's modal screens."""

from __future__ import annotations

from typing import TypeVar

from textual.await_complete import AwaitComplete
from textual.screen import ModalScreen
from textual.widgets import Button, Input

ResultType = TypeVar("ResultType")


class Dialog(ModalScreen[ResultType]):
    """A modal screen that closes once, however fast keys arrive."""

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
