"""A tree that pauses, then a second tree started while the first is paused.

`a0` runs until the test sets GATE, so the test can pause the run first.
"""

import asyncio
import threading

from grafo_core import Node, TreeExecutor, events

GATE = threading.Event()


async def gated():
    while not GATE.is_set():
        await asyncio.sleep(0.01)
    return "a0"


async def step(name):
    return name


async def main():
    a0 = Node(gated, uuid="a0")
    await a0.connect(Node(step, uuid="a1", kwargs={"name": "a1"}))
    alpha = TreeExecutor(uuid="alpha", description="alpha", roots=[a0])
    paused = asyncio.Event()

    def note(event):
        if type(event) is events.RunPaused:
            paused.set()

    alpha.subscribe(note)
    alpha_run = asyncio.create_task(alpha.run())
    await paused.wait()
    beta = TreeExecutor(
        uuid="beta",
        description="beta",
        roots=[Node(step, uuid="b0", kwargs={"name": "b0"})],
    )
    await asyncio.gather(alpha_run, beta.run())
    print("both done")


if __name__ == "__main__":
    asyncio.run(main())
