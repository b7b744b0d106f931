"""Large: a generated layered graph of 1,000 nodes that finishes in a few seconds.

`build()` makes 20 layers of 50 nodes. The nodes of the first layer are the
roots. Every other node gets one to three random parents in the layer above,
so the graph is a DAG with many diamonds. Each node sleeps a random 20 to
150 ms, and every tenth node is an async generator that streams a few chunks
instead. The random number generator is seeded (`SEED`), so every run builds
the same graph.

Use it to see how the app copes with many nodes and a high event rate.

Try:
- Press / and type a uuid such as `L10-025` to jump to that node.
- Press f on a node in a middle layer to see only its events.
- Press p, then s a few times, and look at how many nodes are ready.
- Change `SEED`, `LAYERS` or `WIDTH` and run again.
"""

import asyncio
import random
from collections.abc import AsyncIterator
from itertools import pairwise

from grafo_core import Node, TreeExecutor

SEED = 2024
LAYERS = 20
WIDTH = 50
STREAMING_EVERY = 10


async def work(seconds: float) -> float:
    await asyncio.sleep(seconds)
    return seconds


async def stream(chunks: int, seconds: float) -> AsyncIterator[int]:
    for index in range(chunks):
        await asyncio.sleep(seconds / chunks)
        yield index


def make_node(rng: random.Random, layer: int, index: int) -> Node:
    uuid = f"L{layer:02d}-{index:03d}"
    seconds = round(rng.uniform(0.02, 0.15), 3)
    if (layer * WIDTH + index) % STREAMING_EVERY == 0:
        kwargs = {"chunks": rng.randint(3, 6), "seconds": seconds}
        return Node(stream, uuid=uuid, kwargs=kwargs)
    return Node(work, uuid=uuid, kwargs={"seconds": seconds})


async def build() -> TreeExecutor:
    rng = random.Random(SEED)
    layers = [
        [make_node(rng, layer, index) for index in range(WIDTH)]
        for layer in range(LAYERS)
    ]

    for above, below in pairwise(layers):
        for child in below:
            for parent in rng.sample(above, k=rng.randint(1, 3)):
                await parent.connect(child)

    description = f"{LAYERS} layers x {WIDTH} nodes, seed {SEED}"
    return TreeExecutor(description=description, roots=layers[0])
