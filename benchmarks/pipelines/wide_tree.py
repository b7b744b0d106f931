"""Wide tree: 10,000 nodes under one root, for the time to the first frame.

The root `root` has `WIDTH` children and each of them has an equal share of
the remaining nodes as children, so the tree is three levels deep. The app
opens the first 1,000 lines and leaves the later groups collapsed. The root
sleeps `ROOT_SECONDS` before the other nodes can start, so the first frame
shows the tree waiting. Every other node
sleeps 10 to 100 ms (seeded).

`benchmarks/bench_app.py` sets the sizes through these environment variables:
`GRAFO_BENCH_NODES` (default 10000), `GRAFO_BENCH_WIDTH` (default 100) and
`GRAFO_BENCH_ROOT_SECONDS` (default 2). Run it alone with
`grafo-tui benchmarks/pipelines/wide_tree.py`.
"""

import asyncio
import os
import random

from grafo_core import Node, TreeExecutor

SEED = 11


def setting(name: str, default: float) -> float:
    return float(os.environ.get(f"GRAFO_BENCH_{name}", default))


async def work(seconds: float) -> float:
    await asyncio.sleep(seconds)
    return seconds


async def build() -> TreeExecutor:
    node_count = int(setting("NODES", 10_000))
    width = int(setting("WIDTH", 100))
    rng = random.Random(SEED)

    root = Node(work, uuid="root", kwargs={"seconds": setting("ROOT_SECONDS", 2)})
    middle = []
    for index in range(min(width, node_count - 1)):
        node = Node(work, uuid=f"mid-{index:03d}", kwargs={"seconds": 0.05})
        await root.connect(node)
        middle.append(node)

    for index in range(node_count - 1 - len(middle)):
        seconds = round(rng.uniform(0.01, 0.1), 3)
        node = Node(work, uuid=f"leaf-{index:05d}", kwargs={"seconds": seconds})
        await middle[index % len(middle)].connect(node)

    description = f"{node_count} nodes, {len(middle)} under the root"
    return TreeExecutor(description=description, roots=[root])
