"""Time grafo_core, a plain-asyncio floor and upstream grafo on no-op nodes.

Shapes: fan-out (one root, N children), a chain of N, a seeded layered random
DAG with fan-in, and one async-generator node whose chunks are consumed
through `yielding()`. Every implementation runs in this one process, and the
implementations take turns within each repeat, so drift in the machine's speed
hits all of them alike. The table reports medians per node (or per chunk) and
ratios, followed by one PASS/FAIL line per target.

Run from the repository root: `python benchmarks/bench_engine.py --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.metadata
import logging
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import grafo_core  # noqa: E402

try:
    import grafo as upstream
except ImportError:  # the comparison is optional
    upstream = None
else:
    # Upstream grafo 0.3.6 logs a warning per untyped node per run through its
    # own coloured handler, and sets its logger's level when it is imported.
    # Raising the level after the import keeps the output readable.
    logging.getLogger("grafo").setLevel(logging.CRITICAL)

FLOOR = "asyncio floor"
CORE = "grafo_core"
CORE_SUBSCRIBED = "grafo_core + subscriber"
CORE_NO_TIMEOUT = "grafo_core, timeout=None"
UPSTREAM = "grafo (upstream)"
if upstream is not None:
    UPSTREAM = f"grafo {importlib.metadata.version('grafo')} (upstream)"

# Targets: the maximum ratio of grafo_core's cost to the floor's, and the
# minimum ratio of upstream's cost to grafo_core's.
MAX_RATIO_NO_SUBSCRIBER = 1.5
MAX_RATIO_ONE_SUBSCRIBER = 2.0
MAX_RATIO_CHUNKS = 3.0
MIN_SPEEDUP_OVER_UPSTREAM = 3.0


class NotApplicable(Exception):
    """An implementation cannot run a shape; the message gives the reason."""


# -- shapes ----------------------------------------------------------------------


@dataclass
class Graph:
    """A DAG over node indexes 0..size-1, described by its child lists."""

    name: str
    children: list[list[int]]
    roots: list[int]

    @property
    def size(self) -> int:
        return len(self.children)

    @property
    def edge_count(self) -> int:
        return sum(len(kids) for kids in self.children)

    def parent_counts(self) -> list[int]:
        counts = [0] * self.size
        for kids in self.children:
            for child in kids:
                counts[child] += 1
        return counts


def make_fan_out(children: int) -> Graph:
    """Build one root with `children` children, so `children + 1` nodes."""
    return Graph("fan-out", [list(range(1, children + 1))] + [[]] * children, [0])


def make_chain(length: int) -> Graph:
    kids = [[index + 1] for index in range(length - 1)] + [[]]
    return Graph("chain", kids, [0])


def make_layered_dag(size: int, *, width: int, max_parents: int, seed: int) -> Graph:
    """Build `size` nodes in layers of `width`. Each node of layer k > 0 gets
    1 to `max_parents` distinct parents drawn at random from layer k - 1, and
    layer 0 contains the roots."""
    rng = random.Random(seed)
    children: list[list[int]] = [[] for _ in range(size)]
    layers = [
        list(range(start, min(start + width, size))) for start in range(0, size, width)
    ]
    for previous, layer in zip(layers, layers[1:], strict=False):
        for node in layer:
            count = rng.randint(1, min(max_parents, len(previous)))
            for parent in rng.sample(previous, count):
                children[parent].append(node)
    return Graph("layered DAG", children, list(layers[0]))


# -- the no-op work ----------------------------------------------------------------


async def no_op() -> None:
    return None


async def count_up(count: int):
    for value in range(count):
        yield value


# -- plain-asyncio floor -----------------------------------------------------------


async def floor_nodes(graph: Graph) -> Callable[[], Awaitable[int]]:
    """Return a runner that starts each node's task from the done callbacks of
    its parents' tasks, once all of them have completed."""
    children = graph.children
    roots = graph.roots

    async def run() -> int:
        loop = asyncio.get_running_loop()
        waiting = graph.parent_counts()
        finished = loop.create_future()
        completed: list[int] = []
        running = 0

        def start(index: int) -> None:
            nonlocal running
            running += 1
            task = loop.create_task(no_op())
            task.add_done_callback(lambda task: on_done(task, index))

        def on_done(task: asyncio.Task[None], index: int) -> None:
            nonlocal running
            running -= 1
            task.result()
            completed.append(index)
            for child in children[index]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    start(child)
            if running == 0:
                finished.set_result(None)

        for root in roots:
            start(root)
        await finished
        return len(completed)

    return run


async def floor_chunks(count: int) -> Callable[[], Awaitable[int]]:
    """Return a runner where a task iterates the generator and hands each item
    to the consumer through an `asyncio.Queue`."""

    async def run() -> int:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        end = object()

        async def produce() -> None:
            try:
                async for value in count_up(count):
                    queue.put_nowait(value)
            finally:
                queue.put_nowait(end)

        producer = asyncio.get_running_loop().create_task(produce())
        received = 0
        while await queue.get() is not end:
            received += 1
        await producer
        return received

    return run


# -- grafo_core and upstream grafo -------------------------------------------------


@dataclass
class TreeApi:
    """The public API of grafo_core or of upstream grafo, and whether a run
    has one subscriber that stores every event in a list."""

    node_class: Any
    executor_class: Any
    subscribe: bool = False
    node_options: dict[str, Any] = field(default_factory=dict)


def check_run(api: TreeApi, executor: Any, events: list[Any]) -> None:
    if executor.errors:
        raise NotApplicable(f"the run failed: {executor.errors[0]!r:.120}")
    if api.subscribe and not events:
        raise NotApplicable("the subscriber received no events")


async def tree_nodes(api: TreeApi, graph: Graph) -> Callable[[], Awaitable[int]]:
    """Return a runner for `executor.run()` on a freshly built tree."""
    nodes = [
        api.node_class(no_op, uuid=f"n{index}", **api.node_options)
        for index in range(graph.size)
    ]
    for index, kids in enumerate(graph.children):
        parent = nodes[index]
        for child in kids:
            await parent.connect(nodes[child])
    executor = api.executor_class(roots=[nodes[index] for index in graph.roots])
    # The list lives as long as the runner, so the next case's run does not
    # pay garbage-collector passes over this run's events.
    events: list[Any] = []
    if api.subscribe:
        executor.subscribe(events.append)

    async def run() -> int:
        results = await executor.run()
        check_run(api, executor, events)
        return len(results)

    return run


async def tree_chunks(api: TreeApi, count: int) -> Callable[[], Awaitable[int]]:
    """Return a runner consuming one async-generator node through `yielding()`."""
    node = api.node_class(count_up, kwargs={"count": count}, uuid="generator")
    executor = api.executor_class(roots=[node])
    events: list[Any] = []
    if api.subscribe:
        executor.subscribe(events.append)

    async def run() -> int:
        received = 0
        async for _ in executor.yielding():
            received += 1
        check_run(api, executor, events)
        return received

    return run


# -- measuring ---------------------------------------------------------------------


@dataclass
class Case:
    """One implementation on one shape: how to prepare a run, and its timings."""

    implementation: str
    units: int  # nodes or chunks each run must deliver
    prepare: Callable[[], Awaitable[Callable[[], Awaitable[int]]]]
    seconds: list[float] = field(default_factory=list)
    skipped: str | None = None  # the reason, once the case proved not applicable

    @property
    def per_unit(self) -> float | None:
        if self.skipped or not self.seconds:
            return None
        return statistics.median(self.seconds) / self.units


# The clock that times a run, the process's CPU time by default. The nodes do
# no I/O, so CPU time measures the same work as wall time but leaves out the
# spans when the host runs other jobs. In wall time single runs swung by up
# to 1.5x on the shared machine used here. `--clock wall` times wall time.
clock = time.process_time

# Whether the garbage collector is off during timed runs (`--no-gc`).
collector_off = False


async def measure_once(case: Case, timeout: float, *, keep: bool = True) -> None:
    if case.skipped:
        return
    try:
        run = await case.prepare()
        gc.collect()
        if collector_off:
            gc.disable()
        try:
            started = clock()
            async with asyncio.timeout(timeout):
                delivered = await run()
            elapsed = clock() - started
        finally:
            gc.enable()
    except TimeoutError:
        case.skipped = f"timed out after {timeout:g} s"
        return
    except NotApplicable as exc:
        case.skipped = str(exc)
        return
    if delivered != case.units:
        case.skipped = f"delivered {delivered} of {case.units} items"
        return
    if keep:
        case.seconds.append(elapsed)


async def measure_shape(
    cases: list[Case], *, repeats: int, warmups: int, timeout: float
) -> None:
    """Run every case `warmups` times untimed, then `repeats` times timed,
    rotating the order of the cases each round."""
    for round_index in range(warmups + repeats):
        shift = round_index % len(cases)
        for case in cases[shift:] + cases[:shift]:
            await measure_once(case, timeout, keep=round_index >= warmups)
            print(".", end="", flush=True)
    print(flush=True)


def make_cases(
    graph: Graph | None, chunks: int, upstream_graph: Graph | None
) -> list[Case]:
    """Return the cases of one shape: a node graph, or `chunks` chunks when
    `graph` is None."""
    core = TreeApi(grafo_core.Node, grafo_core.TreeExecutor)
    subscribed = TreeApi(grafo_core.Node, grafo_core.TreeExecutor, subscribe=True)
    if graph is None:
        cases = [
            Case(FLOOR, chunks, lambda: floor_chunks(chunks)),
            Case(CORE, chunks, lambda: tree_chunks(core, chunks)),
            Case(CORE_SUBSCRIBED, chunks, lambda: tree_chunks(subscribed, chunks)),
        ]
    else:
        cases = [
            Case(FLOOR, graph.size, lambda: floor_nodes(graph)),
            Case(CORE, graph.size, lambda: tree_nodes(core, graph)),
            Case(CORE_SUBSCRIBED, graph.size, lambda: tree_nodes(subscribed, graph)),
        ]

    if upstream is None:
        cases.append(Case(UPSTREAM, 1, _never, skipped="grafo is not installed"))
    elif graph is None:
        up = TreeApi(upstream.Node, upstream.TreeExecutor)
        cases.append(Case(UPSTREAM, chunks, lambda: tree_chunks(up, chunks)))
    else:
        up = TreeApi(upstream.Node, upstream.TreeExecutor)
        assert upstream_graph is not None
        cases.append(
            Case(UPSTREAM, upstream_graph.size, lambda: tree_nodes(up, upstream_graph))
        )

    if graph is not None:
        # Informational, with no target: every Node's default timeout (60 s in
        # both libraries) is one asyncio timer per node, so this row shows
        # what that timer costs grafo_core.
        untimed = TreeApi(
            grafo_core.Node, grafo_core.TreeExecutor, node_options={"timeout": None}
        )
        cases.append(
            Case(CORE_NO_TIMEOUT, graph.size, lambda: tree_nodes(untimed, graph))
        )
    return cases


async def _never() -> Callable[[], Awaitable[int]]:
    raise NotApplicable("grafo is not installed")


# -- reporting ---------------------------------------------------------------------


def format_micro(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1e6:.2f}"


def format_ratio(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or denominator is None:
        return "n/a"
    return f"{numerator / denominator:.2f}x"


def report_shape(title: str, unit: str, cases: list[Case]) -> list[str]:
    """Print the table for one shape and return its PASS/FAIL lines."""
    by_name = {case.implementation: case for case in cases}
    floor = by_name[FLOOR].per_unit
    core = by_name[CORE].per_unit
    print(f"\n## {title}")
    print(
        f"| implementation | {unit}s per run | runs | median ms per run "
        f"| median µs per {unit} | vs floor | vs grafo_core |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for case in cases:
        if case.skipped:
            print(
                f"| {case.implementation} | {case.units} | 0 "
                f"| n/a ({case.skipped}) | n/a | n/a | n/a |"
            )
            continue
        per_unit = case.per_unit
        median_ms = statistics.median(case.seconds) * 1e3
        print(
            f"| {case.implementation} | {case.units} | {len(case.seconds)} "
            f"| {median_ms:.1f} | {format_micro(per_unit)} "
            f"| {format_ratio(per_unit, floor)} | {format_ratio(per_unit, core)} |"
        )
    return check_targets(title, unit, by_name)


def verdict(ok: bool | None) -> str:
    if ok is None:
        return "n/a "
    return "PASS" if ok else "FAIL"


def check_targets(title: str, unit: str, by_name: dict[str, Case]) -> list[str]:
    floor = by_name[FLOOR].per_unit
    core = by_name[CORE].per_unit
    subscribed = by_name[CORE_SUBSCRIBED].per_unit
    upstream_case = by_name[UPSTREAM]
    lines = []

    def ratio(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else a / b

    def line(ok: bool | None, text: str, measured: float | None) -> None:
        shown = "n/a" if measured is None else f"{measured:.2f}x"
        lines.append(f"{verdict(ok)} {title}: {text} (measured {shown})")

    if unit == "chunk":
        core_vs_floor = ratio(core, floor)
        line(
            None if core_vs_floor is None else core_vs_floor <= MAX_RATIO_CHUNKS,
            f"grafo_core yielding() per chunk <= {MAX_RATIO_CHUNKS}x floor",
            core_vs_floor,
        )
    else:
        core_vs_floor = ratio(core, floor)
        line(
            None if core_vs_floor is None else core_vs_floor <= MAX_RATIO_NO_SUBSCRIBER,
            f"grafo_core per node <= {MAX_RATIO_NO_SUBSCRIBER}x floor",
            core_vs_floor,
        )
        subscribed_vs_floor = ratio(subscribed, floor)
        line(
            None
            if subscribed_vs_floor is None
            else subscribed_vs_floor <= MAX_RATIO_ONE_SUBSCRIBER,
            f"grafo_core with one subscriber per node <= "
            f"{MAX_RATIO_ONE_SUBSCRIBER}x floor",
            subscribed_vs_floor,
        )
    speedup = ratio(upstream_case.per_unit, core)
    reason = f" [{upstream_case.skipped}]" if upstream_case.skipped else ""
    line(
        None if speedup is None else speedup >= MIN_SPEEDUP_OVER_UPSTREAM,
        f"grafo_core >= {MIN_SPEEDUP_OVER_UPSTREAM}x faster than upstream "
        f"per {unit}{reason}",
        speedup,
    )
    return lines


def describe_machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for text in cpuinfo:
                if text.startswith("model name"):
                    cpu = text.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()} "
        f"on {platform.system()} {platform.release()}"
    )


# -- main --------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--nodes",
        type=int,
        default=20_000,
        help="nodes in the chain and the DAG, and children of the fan-out root "
        "(default: 20000)",
    )
    parser.add_argument(
        "--upstream-nodes",
        type=int,
        default=None,
        help="--nodes for upstream grafo only, when it is too slow at full size "
        "(default: --nodes)",
    )
    parser.add_argument(
        "--chunks",
        type=int,
        default=100_000,
        help="chunks the async-generator node yields (default: 100000)",
    )
    parser.add_argument(
        "--repeats", type=int, default=9, help="timed runs per case (default: 9)"
    )
    parser.add_argument(
        "--warmups",
        type=int,
        default=1,
        help="untimed rounds before the timed ones (default: 1)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds one run may take before its case is reported n/a (default: 60)",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the random DAG (default: 1)"
    )
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="time runs by the process's CPU time or by wall time (default: cpu)",
    )
    parser.add_argument(
        "--dag-width", type=int, default=100, help="nodes per DAG layer (default: 100)"
    )
    parser.add_argument(
        "--max-parents",
        type=int,
        default=3,
        help="maximum parents of a DAG node; each node draws 1 to this many "
        "(default: 3)",
    )
    parser.add_argument(
        "--shapes",
        default="fan-out,chain,dag,chunks",
        help="comma-separated subset of fan-out,chain,dag,chunks",
    )
    parser.add_argument(
        "--no-gc",
        action="store_true",
        help="turn the garbage collector off during each timed run, to see what "
        "its passes cost; the targets are for the default, with it on",
    )
    args = parser.parse_args(argv)
    for name in ("nodes", "chunks", "repeats", "dag_width", "max_parents"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be 1 or more")
    if args.upstream_nodes is None:
        args.upstream_nodes = args.nodes
    return args


def make_graph(shape: str, size: int, args: argparse.Namespace) -> Graph:
    if shape == "fan-out":
        return make_fan_out(size)
    if shape == "chain":
        return make_chain(size)
    return make_layered_dag(
        size, width=args.dag_width, max_parents=args.max_parents, seed=args.seed
    )


async def main(argv: list[str] | None = None) -> int:
    global clock, collector_off
    args = parse_args(argv)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    collector_off = args.no_gc
    print(f"machine: {describe_machine()}")
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(
        f"repeats: {args.repeats} after {args.warmups} warm-up, round-robin; "
        f"{'CPU' if args.clock == 'cpu' else 'wall'} time; "
        f"per-run timeout {args.timeout:g} s; graph building is not timed; "
        "gc.collect() before each run"
        + ("; the collector is OFF during timed runs" if args.no_gc else "")
    )
    if upstream is not None and args.upstream_nodes != args.nodes:
        print(
            f"NOTE: upstream grafo runs graphs of {args.upstream_nodes} nodes, "
            f"the others {args.nodes}; per-node costs are compared across sizes"
        )

    results: list[str] = []
    for shape in args.shapes.split(","):
        shape = shape.strip()
        if shape == "chunks":
            title = f"one async-generator node, {args.chunks} chunks via yielding()"
            cases = make_cases(None, args.chunks, None)
            unit = "chunk"
        elif shape in ("fan-out", "chain", "dag"):
            graph = make_graph(shape, args.nodes, args)
            upstream_graph = (
                graph
                if args.upstream_nodes == args.nodes
                else make_graph(shape, args.upstream_nodes, args)
            )
            title = f"{graph.name}, {graph.size} nodes, {graph.edge_count} edges"
            cases = make_cases(graph, args.chunks, upstream_graph)
            unit = "node"
        else:
            print(f"unknown shape {shape!r}; expected fan-out, chain, dag or chunks")
            return 2
        print(f"measuring {title} ", end="", flush=True)
        await measure_shape(
            cases, repeats=args.repeats, warmups=args.warmups, timeout=args.timeout
        )
        results.extend(report_shape(title, unit, cases))

    print("\n## targets")
    for text in results:
        print(text)
    return 1 if any(text.startswith("FAIL") for text in results) else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
