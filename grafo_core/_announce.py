"""The events that describe nodes as they join a run's graph."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from grafo_core import events as ev
from grafo_core._type_check import class_name, declared_type
from grafo_core.node import Node

if TYPE_CHECKING:
    from grafo_core._run import Run

_new = tuple.__new__
_monotonic = time.monotonic

# Function name, module and source location per code object, so that each
# `def` is described once however many nodes run it.
_function_info: dict[Any, tuple[str, str, str]] = {}


def _describe_function(function: Any) -> tuple[str, str, str]:
    code = getattr(function, "__code__", None)
    if code is not None:
        cached = _function_info.get(code)
        if cached is not None:
            return cached
    info = (
        getattr(function, "__qualname__", repr(function)),
        getattr(function, "__module__", "") or "",
        f"{code.co_filename}:{code.co_firstlineno}" if code is not None else "",
    )
    if code is not None:
        _function_info[code] = info
    return info


def announce_nodes(run: Run, added: list[Node[Any]]) -> None:
    """Send `NodeAdded` for each new node, with its edges from the parents
    announced before it. The edges from parents announced after it follow
    as `EdgeAdded` once every node is announced, so a consumer never receives
    an edge to a node it does not know."""
    now = _monotonic()
    root_set = set(run.roots)
    run_id = run.run_id
    emit = run.emit
    entries = run.entries
    pending = set(added)
    later: list[tuple[Node[Any], Node[Any]]] = []
    function_info = _function_info
    node_added = ev.NodeAdded

    if len(entries) > len(added):
        # Joining a graph in progress, a new node may have children that are
        # in it already; those edges are news too.
        for node in added:
            for child in node._children:
                if child in entries and child not in pending:
                    later.append((node, child))

    # This loop runs once per node of a subscribed run, so it avoids
    # comprehensions and calls where it can (each costs a frame on 3.11).
    for node in added:
        pending.discard(node)
        parent_ids: tuple[str, ...] = ()
        forwards: tuple[tuple[str, str], ...] = ()
        if node._parents:
            parents = []
            forwarding = False
            for parent in node._parents:
                if parent in pending:
                    later.append((parent, node))
                elif parent in entries:
                    parents.append(parent)
                    if parent._forward:
                        forwarding = True
            if len(parents) == 1:
                parent_ids = (parents[0].uuid,)
            elif parents:
                ids = []
                for parent in parents:
                    ids.append(parent.uuid)
                parent_ids = tuple(ids)
            if forwarding:
                forwards = _forwards_into(node, parents)

        function = node.coroutine
        info = function_info.get(getattr(function, "__code__", None))
        if info is None:
            info = _describe_function(function)
        node_class = type(node)
        emit(
            _new(
                node_added,
                (
                    run_id,
                    node.uuid,
                    now,
                    node.uuid if node._uuid_given else node.label,
                    info[0],
                    node._is_generator,
                    node in root_set,
                    node.timeout,
                    info[1],
                    info[2],
                    parent_ids,
                    forwards,
                    "Node" if node_class is Node else class_name(node_class),
                    "" if node._checker is None else declared_type(node),
                ),
            )
        )

    for parent, child in later:
        emit(
            ev.EdgeAdded(
                run_id, child.uuid, now, parent.uuid, forward_name(parent, child)
            )
        )


def _forwards_into(
    child: Node[Any], parents: list[Node[Any]]
) -> tuple[tuple[str, str], ...]:
    """Return ``(parent uuid, parameter)`` for each of `parents` that
    forwards its output into `child`."""
    found = []
    for parent in parents:
        name = forward_name(parent, child)
        if name is not None:
            found.append((parent.uuid, name))
    return tuple(found)


def forward_name(parent: Node[Any], child: Node[Any]) -> str | None:
    forward = parent._forward
    if not forward:
        return None
    rule = forward.get(child)
    return rule.name if rule is not None else None
