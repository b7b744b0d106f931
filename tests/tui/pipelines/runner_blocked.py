"""A tree whose nodes wait until they are cancelled.

`stream` yields one value, then waits forever. Its finally prints a line, so a
test can check that it ran. `wait` waits forever as a plain coroutine.
"""

import asyncio

from grafo_core import Node


async def stream():
    try:
        yield "first"
        await asyncio.Event().wait()
        yield "never"
    finally:
        print("stream closed")


async def wait():
    await asyncio.Event().wait()


def build():
    return [Node(stream, uuid="stream", timeout=None), Node(wait, uuid="wait")]
