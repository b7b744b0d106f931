"""An async generator that yields small chunks as fast as it can.

`flood` yields FLOOD_CHUNKS integers (environment variable GRAFO_FLOOD_CHUNKS,
default 50,000) and gives the event loop a turn after every BATCH of them, so
it can be cancelled. `gated_flood` goes on until a test sets GATE, or until
FLOOD_CHUNKS chunks; COUNTS records how many each function yielded.
"""

import asyncio
import os
import threading

from grafo_core import Node, TreeExecutor

FLOOD_CHUNKS = int(os.environ.get("GRAFO_FLOOD_CHUNKS", "50000"))
BATCH = 1000
GATE = threading.Event()
COUNTS: dict[str, int] = {}


async def flood():
    index = 0
    while index < FLOOD_CHUNKS:
        for _ in range(min(BATCH, FLOOD_CHUNKS - index)):
            yield index
            index += 1
        await asyncio.sleep(0)
    COUNTS["flood"] = index


async def gated_flood():
    index = 0
    while index < FLOOD_CHUNKS and not GATE.is_set():
        for _ in range(BATCH):
            yield index
            index += 1
        await asyncio.sleep(0)
    COUNTS["gated_flood"] = index


async def after(value=None):
    return "after the flood"


async def build():
    source = Node(flood, uuid="flood", timeout=None)
    await source.connect(Node(after, uuid="after"))
    return TreeExecutor(uuid="flood", roots=[source])


async def gated():
    source = Node(gated_flood, uuid="flood", timeout=None)
    await source.connect(Node(after, uuid="after"))
    return TreeExecutor(uuid="gated-flood", roots=[source])
