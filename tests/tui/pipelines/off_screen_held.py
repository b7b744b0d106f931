"""A tree with a failed node, then a second tree started while the first is
still held open for retries under grafo-tui (or, without it, has ended)."""

import asyncio

from grafo_core import Node, TreeExecutor, events


async def step(name):
    return name


async def broken():
    raise ValueError("a0 is broken")


async def main():
    alpha = TreeExecutor(
        uuid="alpha", description="alpha", roots=[Node(broken, uuid="a0")]
    )
    settled = asyncio.Event()

    def note(event):
        if type(event) in (events.RunHeld, events.RunFinished):
            settled.set()

    alpha.subscribe(note)
    alpha_run = asyncio.create_task(alpha.run())
    await settled.wait()
    beta = TreeExecutor(
        uuid="beta",
        description="beta",
        roots=[Node(step, uuid="b0", kwargs={"name": "b0"})],
    )
    await asyncio.gather(alpha_run, beta.run())
    print("both done")


if __name__ == "__main__":
    asyncio.run(main())
