"""A generator node with distinct chunks and a node that fails after it."""

from grafo_core import Node, TreeExecutor

CHUNKS = ["alpha", 2, {"key": "value"}, "line\nbreak", "x" * 500]


async def produce():
    for chunk in CHUNKS:
        yield chunk


async def broken():
    raise ValueError("broken on purpose")


async def build_passing():
    return TreeExecutor(description="chunks", roots=[Node(produce, uuid="produce")])


async def build_failing():
    root = Node(produce, uuid="produce")
    await root.connect(Node(broken, uuid="broken"))
    return TreeExecutor(description="chunks then failure", roots=[root])
