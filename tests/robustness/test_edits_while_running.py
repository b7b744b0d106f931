"""Random edits on trees whose nodes are all running or queued at once:
cascade removal of running nodes, steps while paused, adds under running
nodes. Extends the engine's random-edit property test, whose nodes finish
within a few loop turns."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from grafo_core import Node, NodeState, TreeExecutor, events

EDITS = ["remove_cascade", "remove", "step", "add", "cancel", "open"]


@st.composite
def scenarios(draw):
    size = draw(st.integers(min_value=3, max_value=10))
    parents = [draw(st.integers(0, index - 1)) for index in range(1, size)]
    edits = draw(
        st.lists(st.tuples(st.sampled_from(EDITS), st.integers(0, 30)), max_size=15)
    )
    return size, parents, edits


def graph_ids(seen: list[events.Event]) -> set[str]:
    """Return the ids of the nodes in the run's graph, from its events."""
    ids: set[str] = set()
    for event in seen:
        if isinstance(event, events.NodeAdded):
            ids.add(event.node_id)
        elif isinstance(event, events.NodeRemoved):
            ids.discard(event.node_id)
    return ids


async def scenario_run(size, parents, edits):
    gates = {f"n{index}": asyncio.Event() for index in range(size)}
    closed: list[str] = []
    started: list[str] = []

    def gated(name: str):
        async def stream():
            started.append(name)
            try:
                yield name
                await gates[name].wait()
                yield name
            finally:
                closed.append(name)

        return stream

    nodes = [Node(gated(f"n{i}"), uuid=f"n{i}", timeout=None) for i in range(size)]
    for child_index, parent_index in enumerate(parents, start=1):
        await nodes[parent_index].connect(nodes[child_index])
    executor = TreeExecutor(roots=[nodes[0]], stop_on_error=False)
    seen: list[events.Event] = []
    executor.subscribe(seen.append)
    run = asyncio.create_task(executor.run())
    await asyncio.sleep(0)
    executor.pause()
    added = 0

    for kind, pick in edits:
        await asyncio.sleep(0)
        if not executor.is_running:
            break
        known = sorted(graph_ids(seen))
        if not known:
            break
        target = known[pick % len(known)]
        state = executor.state(target)
        if kind == "remove_cascade":
            await executor.remove(target, cascade=True)
        elif kind == "remove":
            await executor.remove(target)
        elif kind == "step":
            executor.step()
        elif kind == "add":
            added += 1
            name = f"new{added}"
            gates[name] = asyncio.Event()
            await executor.add(Node(gated(name), uuid=name), parents=[target])
        elif kind == "cancel" and state in (NodeState.READY, NodeState.RUNNING):
            executor.cancel(target)
        elif kind == "open":
            gates[target].set()
    if executor.is_running:
        executor.resume()
    for gate in gates.values():
        gate.set()
    await asyncio.wait_for(run, 5)
    return started, closed, seen


@seed(20261206)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_edits_while_running_close_every_generator(scenario):
    started, closed, seen = asyncio.run(scenario_run(*scenario))
    states: dict[str, NodeState] = {}
    for event in seen:
        state = events.STATE_AFTER.get(type(event))
        if state is not None:
            states[event.node_id] = state
        if isinstance(event, events.NodeRemoved):
            states.pop(event.node_id)

    assert sorted(closed) == sorted(started)
    assert isinstance(seen[-1], events.RunFinished)
    unfinished = {NodeState.READY, NodeState.RUNNING}
    assert [node for node, state in states.items() if state in unfinished] == []
