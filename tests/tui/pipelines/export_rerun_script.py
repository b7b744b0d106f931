"""A script that runs the same TreeExecutor twice. Its generator yields 3 chunks."""

import asyncio

from grafo_core import Node, TreeExecutor


async def three():
    for index in range(3):
        yield index


async def main():
    executor = TreeExecutor(description="twice", roots=[Node(three, uuid="three")])
    await executor.run()
    await executor.run()


if __name__ == "__main__":
    asyncio.run(main())
