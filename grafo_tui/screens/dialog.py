"""`Dialog`: the base of the app's modal screens."""

from __future__ import annotations

from typing import TypeVar

from textual.await_complete import AwaitComplete
from textual.screen import ModalScreen

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
