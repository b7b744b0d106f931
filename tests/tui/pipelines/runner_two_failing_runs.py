"""A script that runs one executor twice; its node fails both times."""

import asyncio

from grafo_core import Node, TreeExecutor


async def broken():
    raise ValueError("always broken")


async def main():
    executor = TreeExecutor(description="twice", roots=[Node(broken, uuid="broken")])
    await executor.run()
    await executor.run()


if __name__ == "__main__":
    asyncio.run(main())
