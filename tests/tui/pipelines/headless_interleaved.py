"""Two nodes that print parts of lines while the other prints too, a long
line, a line from a task that node code starts, and an unfinished last line."""

import asyncio
import sys

from grafo_core import Node


async def talk(name: str, pause: float):
    print(f"{name} starts-", end="")
    await asyncio.sleep(pause)
    print("and finishes")

    async def helper():
        print(f"{name} helper")

    await asyncio.gather(helper())
    print(name * 300)
    sys.stdout.write(f"{name} leaves this open")
    return name


def build():
    return [
        Node(talk, kwargs={"name": "A", "pause": 0.02}, uuid="A"),
        Node(talk, kwargs={"name": "B", "pause": 0.01}, uuid="B"),
    ]
