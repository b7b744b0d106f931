"""Trees for counting failed nodes: one fails only on its first run, one
always fails."""

from grafo_core import Node, TreeExecutor

CALLS = {"flaky": 0}


async def flaky():
    CALLS["flaky"] += 1
    if CALLS["flaky"] == 1:
        raise ConnectionError("the service is down on the first call")
    return 7


async def broken():
    raise ValueError("always broken")


async def report(value):
    return f"got {value}"


async def build_fails_once():
    root = Node(flaky, uuid="flaky")
    await root.connect(Node(report, uuid="report"), forward="value")
    return TreeExecutor(description="fails once", roots=[root])


async def build_always_fails():
    root = Node(broken, uuid="broken")
    await root.connect(Node(report, uuid="report"), forward="value")
    return TreeExecutor(description="always fails", roots=[root])
