"""A fan-out for the timeline: `start`, then `a`, `b` and `c` at once.

Each child waits until the test sets its gate in GATES, so the test knows
that all three ran at the same time.
"""

import asyncio
import threading

from grafo_core import Node, TreeExecutor

GATES = {name: threading.Event() for name in ("a", "b", "c")}


async def start():
    return None


async def child(name):
    while not GATES[name].is_set():
        await asyncio.sleep(0.01)
    return name


async def build():
    root = Node(start, uuid="start")
    for name in GATES:
        await root.connect(Node(child, uuid=name, kwargs={"name": name}))
    return TreeExecutor(description="fan-out", roots=[root])
