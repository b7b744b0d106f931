"""A script that runs two trees one after the other, as `python PATH` would."""

import asyncio

from grafo_core import Node, TreeExecutor


async def step(name):
    return name


async def main():
    for index in range(2):
        root = Node(step, uuid=f"step-{index}", kwargs={"name": f"step-{index}"})
        executor = TreeExecutor(description=f"run {index}", roots=[root])
        await executor.run()


if __name__ == "__main__":
    asyncio.run(main())
