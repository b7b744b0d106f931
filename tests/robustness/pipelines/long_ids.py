"""Nodes whose ids are 200 characters long, in a chain of three with a chunk stream."""

from grafo_core import Node, TreeExecutor

IDS = [f"{letter}-" + letter * 198 for letter in "abc"]


async def produce():
    return "value"


async def stream(value=None):
    for index in range(3):
        yield f"{value}-{index}"


async def build():
    first = Node(produce, uuid=IDS[0])
    second = Node(stream, uuid=IDS[1])
    third = Node(produce, uuid=IDS[2])
    await first.connect(second, forward="value")
    await second.connect(third)
    return TreeExecutor(uuid="long-ids", roots=[first])
