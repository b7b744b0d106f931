"""`MountSafeSelect`: a Select that survives being set before it is built."""

from __future__ import annotations

from typing import Any

from textual.css.query import NoMatches
from textual.widgets import Select


class MountSafeSelect(Select[Any]):
    """A `Select` whose value can be set while its parts are still mounting.

    NOTE: in Textual 8.2.8, `Select` sets its first value on mount and
    updates the label of its `SelectCurrent` part, which raises `NoMatches`
    when that part has not composed its own label yet. This happens under
    load, or when keys open and close the dialog quickly. The update is tried
    again after the next refresh instead.
    """

    def _watch_value(self, value: Any) -> None:
        try:
            super()._watch_value(value)
        except NoMatches:
            if self.is_attached:
                self.call_after_refresh(self._watch_value, value)
