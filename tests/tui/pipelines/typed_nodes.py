"""A typed node, a node of a subclass, and a plain node, for the Node panel."""

from grafo_core import Node, TreeExecutor


class RetryingNode(Node):
    """A subclass that adds nothing: the panel names its class."""


async def count():
    return 3


async def build():
    typed = Node[int](count, uuid="typed")
    await typed.connect(RetryingNode(count, uuid="custom"))
    await typed.connect(Node(count, uuid="plain"))
    return TreeExecutor(description="typed nodes", roots=[typed])
