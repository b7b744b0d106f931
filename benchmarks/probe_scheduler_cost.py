"""Measure what the least bookkeeping per node costs next to the asyncio floor.

`bench_engine.py` compares grafo_core with a floor that keeps one counter per
node. This probe measures how close any scheduler that keeps per-node state in
Python objects can come to that floor. It times, in one process and
interleaved like `bench_engine.py`:

- the floor of `bench_engine.py`;
- the floor plus three stored event objects per node, the fewest the event
  contract allows (added, started, succeeded);
- the same with the graph's grafo_core `Node` objects alive, as they are in
  any run of the engine: the garbage collector's full passes, which the
  stored events set off, then walk them too;
- a minimal scheduler: one slotted entry per node, made by a walk over the
  graph before the first node starts, and each node's outcome recorded in its
  own task. It has no timeouts, events, uuid checks or graph changes;
- the same scheduler without the walk: entries are made when a node is first
  reached.

Run from the repository root: `python benchmarks/probe_scheduler_cost.py`.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from bench_engine import Graph, describe_machine, floor_nodes, make_graph, no_op

import grafo_core

RunFactory = Callable[[], Awaitable[Callable[[], Awaitable[int]]]]

WAITING, RUNNING, SUCCEEDED = 0, 1, 2


class Stored(NamedTuple):
    """Stands in for an event: a tuple subclass, as grafo_core's events are."""

    run_id: str
    node_id: int
    timestamp: float


async def floor_with_events(
    graph: Graph, *, with_nodes: bool = False
) -> Callable[[], Awaitable[int]]:
    """Return a runner of the floor that also stores three event objects per
    node, optionally while the graph also exists as grafo_core nodes."""
    children = graph.children
    nodes = await build_nodes(graph) if with_nodes else []
    new = tuple.__new__

    async def run() -> int:
        loop = asyncio.get_running_loop()
        waiting = graph.parent_counts()
        finished = loop.create_future()
        stored: list[Stored] = []
        completed = 0
        running = 0

        def start(index: int) -> None:
            nonlocal running
            running += 1
            stored.append(new(Stored, ("run", index, time.monotonic())))
            stored.append(new(Stored, ("run", index, time.monotonic())))
            task = loop.create_task(no_op())
            task.add_done_callback(lambda task: on_done(task, index))

        def on_done(task: asyncio.Task[None], index: int) -> None:
            nonlocal running, completed
            running -= 1
            task.result()
            completed += 1
            stored.append(new(Stored, ("run", index, time.monotonic())))
            for child in children[index]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    start(child)
            if running == 0:
                finished.set_result(None)

        for root in graph.roots:
            start(root)
        await finished
        return completed

    run.nodes = nodes  # type: ignore[attr-defined]  # alive as long as the runner
    return run


async def build_nodes(graph: Graph) -> list[grafo_core.Node[Any]]:
    nodes = [grafo_core.Node(no_op, uuid=f"n{index}") for index in range(graph.size)]
    for index, kids in enumerate(graph.children):
        for child in kids:
            await nodes[index].connect(nodes[child])
    return nodes


class Entry:
    __slots__ = ("index", "state", "started", "task")

    def __init__(self, index: int) -> None:
        self.index = index
        self.state = WAITING
        self.started = 0.0
        self.task: asyncio.Task[None] | None = None


def minimal_scheduler(graph: Graph, *, walk: bool) -> RunFactory:
    """Return a factory for runs of the minimal scheduler described above."""
    children = graph.children
    parents: list[list[int]] = [[] for _ in range(graph.size)]
    for index, kids in enumerate(children):
        for child in kids:
            parents[child].append(index)

    async def prepare() -> Callable[[], Awaitable[int]]:
        async def run() -> int:
            loop = asyncio.get_running_loop()
            finished = loop.create_future()
            entries: dict[int, Entry] = {}
            counts = {"running": 0, "completed": 0}

            def start(entry: Entry) -> None:
                entry.state = RUNNING
                entry.started = time.monotonic()
                entry.task = loop.create_task(drive(entry))
                counts["running"] += 1

            async def drive(entry: Entry) -> None:
                await no_op()
                counts["running"] -= 1
                counts["completed"] += 1
                entry.task = None
                entry.state = SUCCEEDED
                for child in children[entry.index]:
                    child_entry = entries.get(child)
                    if child_entry is None:
                        child_entry = entries[child] = Entry(child)
                    if child_entry.state is not WAITING:
                        continue
                    for parent in parents[child]:
                        parent_entry = entries.get(parent)
                        if parent_entry is None or parent_entry.state != SUCCEEDED:
                            break
                    else:
                        start(child_entry)
                if counts["running"] == 0:
                    finished.set_result(None)

            if walk:
                seen = list(graph.roots)
                for index in seen:
                    entries[index] = Entry(index)
                    for child in children[index]:
                        if child not in entries:
                            entries[child] = Entry(child)
                            seen.append(child)
            for root in graph.roots:
                start(entries.setdefault(root, Entry(root)))
            await finished
            return counts["completed"]

        return run

    return prepare


async def time_cases(
    graph: Graph, cases: dict[str, RunFactory], rounds: int
) -> dict[str, list[float]]:
    """Run each case once per round, rotating the order; return CPU seconds."""
    seconds: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for round_index in range(rounds + 1):  # the first round warms up
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            run = await cases[name]()
            gc.collect()
            started = time.process_time()
            delivered = await run()
            elapsed = time.process_time() - started
            if delivered != graph.size:
                raise AssertionError(f"{name} ran {delivered} of {graph.size} nodes")
            if round_index:
                seconds[name].append(elapsed)
        print(".", end="", flush=True)
    print()
    return seconds


async def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 11
    print(f"machine: {describe_machine()}")
    print(f"{rounds} rounds after one warm-up, CPU time (time.process_time)")

    class Options:
        dag_width = 100
        max_parents = 3
        seed = 1

    for shape in ("dag", "chain", "fan-out"):
        graph = make_graph(shape, 20_000, Options())  # type: ignore[arg-type]
        cases: dict[str, Any] = {
            "asyncio floor": lambda graph=graph: floor_nodes(graph),
            "floor + 3 stored events per node": (
                lambda graph=graph: floor_with_events(graph)
            ),
            "floor + 3 stored events, grafo_core nodes alive": (
                lambda graph=graph: floor_with_events(graph, with_nodes=True)
            ),
            "minimal scheduler, entries made by a walk": minimal_scheduler(
                graph, walk=True
            ),
            "minimal scheduler, entries made on demand": minimal_scheduler(
                graph, walk=False
            ),
        }
        print(f"\n## {graph.name}, {graph.size} nodes ", end="", flush=True)
        seconds = await time_cases(graph, cases, rounds)
        floor = statistics.median(seconds["asyncio floor"])
        print("| case | median µs per node | vs floor |")
        print("|---|---:|---:|")
        for name, values in seconds.items():
            median = statistics.median(values)
            print(
                f"| {name} | {median / graph.size * 1e6:.2f} | {median / floor:.2f}x |"
            )


if __name__ == "__main__":
    asyncio.run(main())
