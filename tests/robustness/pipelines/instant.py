"""A pipeline that ends before the screen can draw its first frame."""

from grafo_core import Node, TreeExecutor


async def quick():
    return 42


async def quick_stream():
    yield "only chunk"


def build():
    return TreeExecutor(
        uuid="instant",
        roots=[Node(quick, uuid="quick"), Node(quick_stream, uuid="quick_stream")],
    )
