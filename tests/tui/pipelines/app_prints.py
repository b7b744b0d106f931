"""A node that prints more lines than the Output tab keeps."""

import asyncio

from grafo_core import Node, TreeExecutor

LINES = 12_000


async def talk():
    for number in range(LINES):
        print(f"line {number}")
    return LINES


async def main():
    await TreeExecutor(roots=[Node(talk, uuid="talk")]).run()


if __name__ == "__main__":
    asyncio.run(main())
