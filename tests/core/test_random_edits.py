"""Property test: random DAGs edited at random moments while they run."""

from __future__ import annotations

import asyncio
import gc
import warnings

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from grafo_core import Node, NodeState, TreeExecutor, events

EDIT_KINDS = ["connect", "disconnect", "add", "remove", "cancel", "pause", "step"]


@st.composite
def scenarios(draw):
    size = draw(st.integers(min_value=2, max_value=14))
    pairs = [(a, b) for a in range(size) for b in range(a + 1, size)]
    edges = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=20))
    turns = draw(st.lists(st.integers(0, 3), min_size=size, max_size=size))
    edit = st.tuples(
        st.sampled_from(EDIT_KINDS),
        st.integers(0, 40),
        st.integers(0, 40),
        st.integers(0, 3),
    )
    edits = draw(st.lists(edit, max_size=12))
    workers = draw(st.one_of(st.none(), st.integers(1, 3)))
    return size, edges, turns, edits, workers


class Checker:
    """Rebuilds the graph and states from events and checks each start."""

    def __init__(self) -> None:
        self.parents: dict[str, set[str]] = {}
        self.states: dict[str, NodeState] = {}
        self.roots: set[str] = set()
        self.problems: list[str] = []
        self.finished = False

    def __call__(self, event: events.Event) -> None:
        node = event.node_id
        if isinstance(event, events.RunStarted):
            self.roots = set(event.root_ids)
        elif isinstance(event, events.RunFinished):
            self.finished = True
        elif isinstance(event, events.NodeAdded):
            self.parents[node] = set(event.parent_ids)
        elif isinstance(event, events.EdgeAdded):
            self.parents.setdefault(node, set()).add(event.parent_id)
        elif isinstance(event, events.EdgeRemoved):
            self.parents[node].discard(event.parent_id)
        elif isinstance(event, events.NodeRemoved):
            self.states.pop(node, None)
            self.parents.pop(node, None)
            self.roots.discard(node)
        if isinstance(event, events.NodeStarted):
            if self.states.get(node) is NodeState.RUNNING:
                self.problems.append(f"{node} started while running")
            if node not in self.roots:
                waiting_on = [
                    parent
                    for parent in self.parents.get(node, ())
                    if self.states.get(parent) is not NodeState.SUCCEEDED
                ]
                if waiting_on or not self.parents.get(node):
                    self.problems.append(f"{node} started before {waiting_on}")
        state = events.STATE_AFTER.get(type(event))
        if state is not None:
            self.states[node] = state


def reaches(start: Node, target: Node) -> bool:
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node is target:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(node.children)
    return False


async def scenario_run(size, edges, turns, edits, workers):
    def work(count):
        async def step():
            for _ in range(count):
                await asyncio.sleep(0)
            return count

        return step

    nodes = [Node(work(turns[i]), uuid=f"n{i}") for i in range(size)]
    for a, b in edges:
        await nodes[a].connect(nodes[b])
    executor = TreeExecutor(roots=[nodes[0]], max_workers=workers)
    checker = Checker()
    executor.subscribe(checker)
    added = 0

    async def edit_loop():
        nonlocal added
        for kind, first, second, wait in edits:
            for _ in range(wait):
                await asyncio.sleep(0)
            if not executor.is_running:
                return
            known = sorted(checker.states)
            if not known:
                continue
            a = executor.node(known[first % len(known)])
            b = executor.node(known[second % len(known)])
            if kind == "connect" and a is not b and b not in a.children:
                if not reaches(b, a):  # keep it a DAG: a cycle here never ends
                    await a.connect(b)
            elif kind == "disconnect" and b in a.children:
                await a.disconnect(b)
            elif kind == "add":
                added += 1
                await executor.add(Node(work(1), uuid=f"new{added}"), parents=[a])
            elif kind == "remove":
                await executor.remove(a, cascade=bool(second % 2))
            elif kind == "cancel" and checker.states.get(a.uuid) in (
                NodeState.READY,
                NodeState.RUNNING,
            ):
                executor.cancel(a)
            elif kind == "pause":
                executor.pause()
            elif kind == "step":
                executor.step()
                executor.resume()
        if executor.is_running:
            executor.resume()

    run_task = asyncio.create_task(executor.run())
    editor = asyncio.create_task(edit_loop())
    await asyncio.wait_for(editor, timeout=3)
    if executor.is_running:
        executor.resume()
    await asyncio.wait_for(run_task, timeout=3)
    leftovers = [
        task for task in asyncio.all_tasks() if task is not asyncio.current_task()
    ]
    return checker, leftovers


@seed(20261204)
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(scenarios())
def test_random_edits_keep_every_invariant(scenario):
    loop_errors = []

    def on_loop_error(loop, context):
        loop_errors.append(context.get("message"))

    async def main():
        asyncio.get_running_loop().set_exception_handler(on_loop_error)
        return await scenario_run(*scenario)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        checker, leftovers = asyncio.run(main())
        gc.collect()

    assert checker.problems == []
    assert checker.finished
    assert leftovers == []
    assert loop_errors == []
    unfinished = {NodeState.READY, NodeState.RUNNING}
    assert [n for n, s in checker.states.items() if s in unfinished] == []
