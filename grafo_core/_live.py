"""The runs in progress in the process, and which of them hold a node."""

from __future__ import annotations

from typing import Any

live_runs: set[Any] = set()
"""Every `Run` in progress, on any thread. Nodes find the runs to tell about
their edge changes here, and the blocking detector's
`grafo_core.introspect.node_of_frame` reads it from its own thread."""


def runs_holding(node: Any) -> tuple[Any, ...]:
    """Return the runs in progress whose graph contains `node`."""
    if not live_runs:
        return ()
    return tuple(run for run in tuple(live_runs) if node in run.entries)
