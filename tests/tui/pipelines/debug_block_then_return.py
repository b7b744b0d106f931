"""A node awaits, then blocks the event loop, then returns without awaiting.

`sleeper` awaits `asyncio.sleep` until the test sets BLOCK, blocks the loop's
thread in `RELEASE.wait` until the test sets RELEASE, and returns. `keeper`
keeps the run going until the test sets FINISH.
"""

import asyncio
import threading

from grafo_core import Node

BLOCK = threading.Event()
RELEASE = threading.Event()
FINISH = threading.Event()


async def sleeper():
    while not BLOCK.is_set():
        await asyncio.sleep(0.01)
    RELEASE.wait(10)  # blocks the event loop
    return "done"


async def keeper():
    while not FINISH.is_set():
        await asyncio.sleep(0.01)
    return "done"


def build():
    return [Node(sleeper, uuid="sleeper"), Node(keeper, uuid="keeper")]
