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
class PipelineEnded:
    """The file's work is over (every run done), or it failed.

    Attributes:
        error: A load or script error to show before exiting non-zero, or
            `None`.
        failed_nodes: Nodes that failed or timed out, summed over all runs.
    """

    error: LoadError | None
    failed_nodes: int
