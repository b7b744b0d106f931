"""A tree of 10,000 no-op nodes: a root, 100 branches of 99 leaves each,
and 99 more leaves under the root."""

from grafo_core import Node, TreeExecutor

BRANCHES = 100
LEAVES = 99
NODE_COUNT = 1 + BRANCHES * (1 + LEAVES) + 99


async def no_op():
    return None


async def build():
    root = Node(no_op, uuid="root", timeout=None)
    for branch_index in range(BRANCHES):
        branch = Node(no_op, uuid=f"b{branch_index}", timeout=None)
        await root.connect(branch)
        for leaf_index in range(LEAVES):
            leaf = Node(no_op, uuid=f"b{branch_index}-{leaf_index}", timeout=None)
            await branch.connect(leaf)
    for extra_index in range(99):
        await root.connect(Node(no_op, uuid=f"extra{extra_index}", timeout=None))
    return TreeExecutor(uuid="big-tree", roots=[root])
