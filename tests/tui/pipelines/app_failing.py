"""A tree where one branch fails: prepare -> (ok, broken -> never)."""

from grafo_core import Node, TreeExecutor


async def prepare():
    return {"rows": 3}


async def ok():
    return "fine"


async def broken():
    raise ValueError("row 2 has no 'id' column")


async def never():
    return "unreachable"


async def build():
    root = Node(prepare, uuid="prepare")
    good = Node(ok, uuid="ok")
    bad = Node(broken, uuid="broken")
    after = Node(never, uuid="never")
    await root.connect(good)
    await root.connect(bad)
    await bad.connect(after)
    return TreeExecutor(uuid="failing", description="failing demo", roots=[root])
