"""The runs in progress in the process, and which of them hold a node."""

from __future__ import annotations

from contextvars import ContextVar
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


current_node: ContextVar[str | None] = ContextVar("grafo_core_node", default=None)
"""The uuid of the node whose task runs, set in each node task's own copy of
the run's context while `tracking` is on. Tasks and callbacks that node code
starts copy the context, so they see their node too."""

tracking = False
"""Whether runs set `current_node` in each node's task (see
`grafo_core.track_node_context`). Off by default: the write costs about 3%
of a no-op node."""
