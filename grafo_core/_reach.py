"""Reachability in the node graph: cycle checks, and what a removal cuts off."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grafo_core.node import Node


def reaches(start: Node[Any], target: Node[Any]) -> bool:
    """Return whether `target` is reachable from `start`, so an edge from
    `target` to `start` closes a cycle."""
    seen = {start}
    stack = [start]
    while stack:
        for child in stack.pop()._children:
            if child is target:
                return True
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return False


def orphaned_descendants(target: Node[Any], roots: list[Node[Any]]) -> list[Node[Any]]:
    """Return the descendants of `target` that no root reaches once `target`
    is gone, breadth-first. A cycle below `target` with no other way in goes
    too; a root never does."""
    reached: set[Node[Any]] = set()
    stack = [root for root in roots if root is not target]
    while stack:
        node = stack.pop()
        if node not in reached and node is not target:
            reached.add(node)
            stack.extend(node._children)
    order: list[Node[Any]] = []
    seen = {target}
    queue = deque(target._children)
    while queue:
        child = queue.popleft()
        if child in seen or child in reached:
            continue
        seen.add(child)
        order.append(child)
        queue.extend(child._children)
    return order
