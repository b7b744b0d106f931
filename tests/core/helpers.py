"""Small pipelines and an event recorder shared by the engine tests."""

from __future__ import annotations

import asyncio
from typing import Any

from grafo_core import Node, TreeExecutor, events


class Recorder:
    """A subscriber that keeps every event, with helpers to query the order."""

    def __init__(self, executor: TreeExecutor) -> None:
        self.events: list[events.Event] = []
        self.unsubscribe = executor.subscribe(self.events.append)

    def of(self, kind: type[events.Event], node_id: str | None = None) -> list[Any]:
        return [
            event
            for event in self.events
            if isinstance(event, kind) and (node_id is None or event.node_id == node_id)
        ]

    def index(self, kind: type[events.Event], node_id: str) -> int:
        for position, event in enumerate(self.events):
            if isinstance(event, kind) and event.node_id == node_id:
                return position
        raise AssertionError(f"no {kind.__name__} for {node_id!r}")

    def started(self) -> list[str]:
        return [event.node_id for event in self.of(events.NodeStarted)]

    def final_states(self) -> dict[str, events.NodeState]:
        states: dict[str, events.NodeState] = {}
        for event in self.events:
            state = events.STATE_AFTER.get(type(event))
            if state is not None and event.node_id is not None:
                states[event.node_id] = state
            if isinstance(event, events.NodeRemoved):
                states.pop(event.node_id, None)
        return states


async def noop() -> str:
    return "ok"


async def nap(seconds: float = 0.01) -> float:
    await asyncio.sleep(seconds)
    return seconds


def make(uuid: str, function: Any = noop, **options: Any) -> Node[Any]:
    return Node(function, uuid=uuid, **options)
