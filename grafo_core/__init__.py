"""An asyncio task-tree engine with the Grafo API, lifecycle events and control."""

from grafo_core import errors, events
from grafo_core._forwarding import auto_forward_candidates
from grafo_core.chunk import Chunk
from grafo_core.errors import NodeTimeoutError
from grafo_core.events import NodeState
from grafo_core.executor import TreeExecutor, observe_runs
from grafo_core.introspect import (
    await_chain,
    current_node_id,
    node_of_frame,
    track_node_context,
)
from grafo_core.node import Metadata, Node

__all__ = [
    "Chunk",
    "Metadata",
    "Node",
    "NodeState",
    "NodeTimeoutError",
    "TreeExecutor",
    "auto_forward_candidates",
    "await_chain",
    "current_node_id",
    "errors",
    "events",
    "node_of_frame",
    "observe_runs",
    "track_node_context",
]
