"""Eight layers of four nodes, each node under every node of the layer above.

Drawn with every subtree under every parent this would take 4**8 rows.
"""

from grafo_core import Node, TreeExecutor

LAYERS = 8
WIDTH = 4


async def step():
    return None


async def build():
    layers = [
        [Node(step, uuid=f"L{layer}-{index}") for index in range(WIDTH)]
        for layer in range(LAYERS)
    ]
    for upper, lower in zip(layers, layers[1:], strict=False):
        for parent in upper:
            for child in lower:
                await parent.connect(child)
    return TreeExecutor(roots=layers[0])
