"""Two trees at once, where the one that started first fails; then a third tree.

`alpha` starts first, so the screen moves to `beta` while `alpha` still runs.
"""

import asyncio

from grafo_core import Node, TreeExecutor


async def step(name):
    await asyncio.sleep(0)
    return name


async def broken():
    await asyncio.sleep(0)
    raise ValueError("a1 is broken")


async def main():
    a0 = Node(step, uuid="a0", kwargs={"name": "a0"})
    a1 = Node(broken, uuid="a1")
    await a0.connect(Node(step, uuid="a2", kwargs={"name": "a2"}))
    alpha = TreeExecutor(uuid="alpha", description="alpha", roots=[a0, a1])

    b0 = Node(step, uuid="b0", kwargs={"name": "b0"})
    await b0.connect(Node(step, uuid="b1", kwargs={"name": "b1"}))
    b2 = Node(step, uuid="b2", kwargs={"name": "b2"})
    beta = TreeExecutor(uuid="beta", description="beta", roots=[b0, b2])

    await asyncio.gather(alpha.run(), beta.run())
    print("both done")
    gamma = TreeExecutor(
        uuid="gamma",
        description="gamma",
        roots=[Node(step, uuid="g0", kwargs={"name": "g0"})],
    )
    await gamma.run()


if __name__ == "__main__":
    asyncio.run(main())
