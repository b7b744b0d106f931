"""Chunk flood: a 1,000-node tree while a few async generators stream chunks.

The root `source` has `STREAMS` async-generator children that together yield
about `CHUNK_RATE` chunks per second for `SECONDS` seconds. Each stream paces
itself by the clock: every 5 ms it yields every chunk that is due by then, so
its rate holds even when a sleep overshoots. The other nodes form a tree with
up to 10 children per node under `source`. Each of them sleeps a random time
(seeded) of up to a third of `SECONDS`, so nodes keep starting and finishing
while the chunks flow.

`benchmarks/bench_app.py` sets the sizes through these environment variables:
`GRAFO_BENCH_NODES` (default 1000), `GRAFO_BENCH_CHUNK_RATE` (chunks per
second over all streams, default 10000), `GRAFO_BENCH_STREAMS` (default 4) and
`GRAFO_BENCH_SECONDS` (default 5). Run it alone with
`grafo-tui benchmarks/pipelines/chunk_flood.py`.
"""

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator

from grafo_core import Node, TreeExecutor

SEED = 7
FAN_OUT = 10
PACE_SECONDS = 0.005


def setting(name: str, default: float) -> float:
    return float(os.environ.get(f"GRAFO_BENCH_{name}", default))


async def source() -> str:
    return "started"


async def work(seconds: float) -> float:
    await asyncio.sleep(seconds)
    return seconds


async def stream(rate: float, seconds: float) -> AsyncIterator[str]:
    start = time.monotonic()
    sent = 0
    while True:
        elapsed = time.monotonic() - start
        if elapsed >= seconds:
            return
        due = int(rate * elapsed)
        while sent < due:
            yield f"chunk {sent}"
            sent += 1
        await asyncio.sleep(PACE_SECONDS)


async def build() -> TreeExecutor:
    node_count = int(setting("NODES", 1000))
    rate = setting("CHUNK_RATE", 10_000)
    streams = int(setting("STREAMS", 4))
    seconds = setting("SECONDS", 5)
    rng = random.Random(SEED)

    root = Node(source, uuid="source")
    for index in range(streams):
        kwargs = {"rate": rate / streams, "seconds": seconds}
        child = Node(stream, uuid=f"stream-{index}", kwargs=kwargs, timeout=None)
        await root.connect(child)

    # The first FAN_OUT workers hang under the root and worker i after them
    # under worker (i - FAN_OUT) // FAN_OUT: three levels for 995 workers.
    workers: list[Node] = []
    for index in range(node_count - 1 - streams):
        seconds_asleep = round(rng.uniform(0.05, seconds / 3), 3)
        node = Node(work, uuid=f"work-{index:04d}", kwargs={"seconds": seconds_asleep})
        parent = root if index < FAN_OUT else workers[(index - FAN_OUT) // FAN_OUT]
        await parent.connect(node)
        workers.append(node)

    description = f"{node_count} nodes, {rate:g} chunks/s for {seconds:g} s"
    return TreeExecutor(description=description, roots=[root])
