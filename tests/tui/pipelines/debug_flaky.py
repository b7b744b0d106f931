"""`flaky` fails until the test sets FIXED; `report` gets its forwarded output."""

from grafo_core import Node, TreeExecutor

FIXED = {"value": False}


async def flaky():
    if not FIXED["value"]:
        raise ConnectionError("the service is down")
    return 7


async def report(value):
    return f"got {value}"


async def build():
    root = Node(flaky, uuid="flaky")
    await root.connect(Node(report, uuid="report"), forward="value")
    return TreeExecutor(description="flaky", roots=[root])
