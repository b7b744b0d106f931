"""One line under the panels: run, elapsed time, counts per state."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.widgets import Static

from grafo_core.events import NodeState
from grafo_tui.model import RunModel
from grafo_tui.model_handlers import run_title
from grafo_tui.widgets.task_tree import STATE_MARKS, format_duration


class StatusLine(Static):
    """Run name, elapsed time, nodes per state, running now and the peak so far."""

    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.clock = clock
        self._shown = Text()

    def show(
        self, model: RunModel, *, ended: bool = False, reloading: bool = False
    ) -> None:
        """Show the state of `model`. `ended` means the pipeline has no more
        runs, and `reloading` that its file is being read again for a new pass."""
        text = self.describe(model, ended=ended, reloading=reloading)
        if text != self._shown:
            self._shown = text
            # The line is one row high whatever it says, so no layout pass.
            self.update(text, layout=False)

    def describe(
        self, model: RunModel, *, ended: bool = False, reloading: bool = False
    ) -> Text:
        """Return the status text for `model`."""
        if not model.is_started:
            return Text("Starting the pipeline..." if not ended else "No run.")
        text = Text(no_wrap=True, overflow="ellipsis")
        # The Log's short form: a generated run uuid would take 36 columns.
        text.append(model.description or run_title(model.run_id, ""), "bold")
        text.append(f"  {format_duration(model.elapsed(self.clock()))}")

        if reloading:
            text.append("  re-run: loading the file again...", "reverse")
        elif model.is_finished:
            text.append("  stopped" if model.cancelled else "  finished")
        elif model.held:
            text.append("  held: press t to retry, e to end the run", "reverse")
        elif model.paused_at is not None:
            label = model.label(model.paused_at)
            text.append(f"  paused at breakpoint on {label}", "reverse")
        elif model.paused:
            text.append("  paused", "reverse")
        if model.blocking is not None:
            blocker_id = model.blocking.node_id
            name = (
                model.label(blocker_id)
                if blocker_id is not None
                else "code outside any node"
            )
            text.append(f"  loop blocked by {name}", "reverse")

        counts = model.counts()
        # A node removed after it failed leaves the graph, but its error
        # stays in the run's error count, so the line keeps counting it.
        counts.update(model.removed_failures)
        for state in NodeState:
            if counts[state]:
                name = state.value.replace("_", " ")
                text.append(f"  {STATE_MARKS[state]} {counts[state]} {name}")
                removed = model.removed_failures[state]
                if removed:
                    text.append(f" ({removed} removed)")
        text.append(f"  | running {model.running_count}, peak {model.max_running}")
        if model.max_workers is not None:
            text.append(f", limit {model.max_workers}")
        if model.block_count:
            times = "time" if model.block_count == 1 else "times"
            text.append(
                f" | loop blocked {model.block_count} {times}, "
                f"longest {model.longest_block:.2f}s"
            )
        return text
