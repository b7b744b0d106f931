"""A script that runs two trees at the same time, as `python PATH` would."""

import asyncio

from grafo_core import Node, TreeExecutor


async def step(name):
    await asyncio.sleep(0.01)
    return name


async def main():
    first = TreeExecutor(
        description="first", roots=[Node(step, uuid="a", kwargs={"name": "a"})]
    )
    second = TreeExecutor(
        description="second", roots=[Node(step, uuid="b", kwargs={"name": "b"})]
    )
    await asyncio.gather(first.run(), second.run())


if __name__ == "__main__":
    asyncio.run(main())
