"""A small tree that keeps running for a while with short sleeps, for random keys.

source -> double (forwarded), source -> words (an async generator);
double and words -> join. Each node takes a few steps of 0.02 s, so a run
lasts about a second and `r` can run it again.
"""

import asyncio

from grafo_core import Node, TreeExecutor


async def pause(steps):
    for _ in range(steps):
        await asyncio.sleep(0.02)


async def source():
    await pause(10)
    return 21


async def double(value):
    await pause(10)
    return value * 2


async def words():
    for index in range(20):
        await pause(1)
        yield f"word [{index}]"


async def join():
    await pause(10)
    return "joined"


async def build():
    root = Node(source, uuid="source", timeout=5)
    doubled = Node(double, uuid="double", timeout=5)
    streamed = Node(words, uuid="words", timeout=5)
    joined = Node(join, uuid="join", timeout=5)
    await root.connect(doubled, forward="value")
    await root.connect(streamed)
    await doubled.connect(joined)
    await streamed.connect(joined)
    return TreeExecutor(uuid="keys-demo", roots=[root], stop_on_error=False)
