"""A script that calls input(), catches the EOFError and prints a line."""

import asyncio

from grafo_core import Node, TreeExecutor

try:
    NAME = input("name? ")
except EOFError:
    NAME = "nobody"
print("line after the prompt")


async def greet():
    return f"hello {NAME}"


async def main():
    await TreeExecutor(roots=[Node(greet)]).run()


if __name__ == "__main__":
    asyncio.run(main())
