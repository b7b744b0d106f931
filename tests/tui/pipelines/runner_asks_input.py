"""A script that asks for input before it builds its tree."""

import asyncio

from grafo_core import Node, TreeExecutor

NAME = input("name? ")


async def greet():
    return f"hello {NAME}"


async def main():
    await TreeExecutor(roots=[Node(greet)]).run()


if __name__ == "__main__":
    asyncio.run(main())
