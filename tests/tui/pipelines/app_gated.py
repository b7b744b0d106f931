"""A small tree whose nodes wait for the test to open their gate.

fetch -> double (forwarded), fetch -> tokens (an async generator);
double and tokens -> join. Each node polls a threading.Event in GATES, so a
test decides when each one may finish.
"""

import asyncio
import threading

from grafo_core import Node, TreeExecutor

GATES = {name: threading.Event() for name in ("fetch", "double", "tokens", "join")}


async def wait_for(name):
    while not GATES[name].is_set():
        await asyncio.sleep(0.02)


async def fetch():
    await wait_for("fetch")
    return 21


async def double(value):
    await wait_for("double")
    return value * 2


async def tokens():
    for index in range(3):
        yield f"token-{index}"
    await wait_for("tokens")
    yield "last [bold]token[/]"


async def join():
    await wait_for("join")
    return "joined"


async def build():
    root = Node(fetch, uuid="fetch")
    doubled = Node(double, uuid="double")
    streamed = Node(tokens, uuid="tokens")
    joined = Node(join, uuid="join")
    await root.connect(doubled, forward="value")
    await root.connect(streamed)
    await doubled.connect(joined)
    await streamed.connect(joined)
    return TreeExecutor(uuid="gated", description="gated demo", roots=[root])
