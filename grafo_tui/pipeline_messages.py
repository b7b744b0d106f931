"""Messages that `PipelineRunner` puts on its queue besides engine events and output."""

from __future__ import annotations

from dataclasses import dataclass

import grafo_core
from grafo_tui.loader import LoadError


@dataclass(frozen=True, slots=True)
class Notice:
    """One line of information for the user."""

    text: str


@dataclass(frozen=True, slots=True)
class ExecutorAttached:
    """A run is about to start. Its `RunStarted` and later events follow."""

    executor: grafo_core.TreeExecutor


@dataclass(frozen=True, slots=True)
class RunLeftScreen:
    """A run still going is no longer on the screen, because another run
    started, so the app stopped holding or pausing it.

    Attributes:
        run_id: The run's `TreeExecutor.name`.
        description: The run's `TreeExecutor.description`.
        resumed: Whether the app had paused the run and resumed it now.
        time: `time.monotonic()` when the app let the run go.
    """

    run_id: str
    description: str
    resumed: bool
    time: float


@dataclass(frozen=True, slots=True)
class PipelineEnded:
    """The file's work is over (every run done), or it failed.

    Attributes:
        error: A load or script error to show before exiting non-zero, or
            `None`.
        failed_nodes: Nodes whose last state in their run is failed or
            timed out, summed over all runs of the pass. A node removed
            while failed or timed out counts too.
    """

    error: LoadError | None
    failed_nodes: int
