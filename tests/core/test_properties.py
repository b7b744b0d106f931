"""Property tests: random DAGs run every runnable node once, in order."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from grafo_core import Node, TreeExecutor, events


@st.composite
def dags(draw):
    """Draw a DAG as (size, edges, delays, roots); edges go from lower to higher."""
    size = draw(st.integers(min_value=1, max_value=24))
    pairs = [(a, b) for a in range(size) for b in range(a + 1, size)]
    edges = draw(
        st.lists(st.sampled_from(pairs), unique=True) if pairs else st.just([])
    )
    delays = draw(st.lists(st.integers(0, 2), min_size=size, max_size=size))
    has_parent = {b for _, b in edges}
    natural_roots = [i for i in range(size) if i not in has_parent]
    roots = draw(
        st.lists(st.sampled_from(natural_roots), min_size=1, unique=True).map(sorted)
    )
    workers = draw(st.one_of(st.none(), st.integers(1, 4)))
    return size, edges, delays, roots, workers


def runnable(size, edges, roots):
    """Return the nodes that must run: the roots, then every node whose parents
    all run (a parent outside the run never completes, so it blocks)."""
    parents = {i: [] for i in range(size)}
    for a, b in edges:
        parents[b].append(a)
    result = set(roots)
    for node in range(size):  # edges go low -> high, so one pass suffices
        if parents[node] and all(parent in result for parent in parents[node]):
            result.add(node)
    return result


async def run_dag(size, edges, delays, roots, workers):
    def make_function(turns):
        async def work():
            for _ in range(turns):
                await asyncio.sleep(0)
            return turns

        return work

    nodes = [Node(make_function(delays[i]), uuid=f"n{i}") for i in range(size)]
    for a, b in edges:
        await nodes[a].connect(nodes[b])
    executor = TreeExecutor(roots=[nodes[i] for i in roots], max_workers=workers)
    log: list[events.Event] = []
    executor.subscribe(log.append)
    await asyncio.wait_for(executor.run(), timeout=10)
    return log


@settings(max_examples=150, deadline=None)
@given(dags())
def test_random_dag_runs_each_node_once_in_order(dag):
    size, edges, delays, roots, workers = dag
    log = asyncio.run(run_dag(size, edges, delays, roots, workers))
    expected = {f"n{i}" for i in runnable(size, edges, roots)}

    started = [e.node_id for e in log if isinstance(e, events.NodeStarted)]
    assert sorted(started) == sorted(expected)
    assert len(started) == len(set(started))

    position = {}
    for index, event in enumerate(log):
        if isinstance(event, events.NodeStarted | events.NodeSucceeded):
            position[(type(event), event.node_id)] = index
    for a, b in edges:
        if f"n{b}" in expected and b not in roots:
            finished = position[(events.NodeSucceeded, f"n{a}")]
            assert finished < position[(events.NodeStarted, f"n{b}")]

    running = peak = 0
    for event in log:
        if isinstance(event, events.NodeStarted):
            running += 1
            peak = max(peak, running)
        elif isinstance(event, events.NodeSucceeded):
            running -= 1
    if workers is not None:
        assert peak <= workers
    assert isinstance(log[-1], events.RunFinished)
    assert log[-1].cancelled is False
