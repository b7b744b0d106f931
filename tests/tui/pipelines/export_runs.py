"""Pipelines for the export tests: many chunks, a fan-out, a cycle, failures."""

import asyncio

from grafo_core import Node, TreeExecutor

CHUNK_COUNT = 100_000
FAN_OUT_CHILDREN = ("child_a", "child_b", "child_c")
CYCLE_RUNS = 3


async def count_up():
    for index in range(CHUNK_COUNT):
        yield index


async def build_many_chunks():
    return TreeExecutor(
        description="many chunks", roots=[Node(count_up, uuid="count_up")]
    )


async def build_fan_out():
    started: set[str] = set()
    all_started = asyncio.Event()

    async def parent():
        return "parent output"

    async def child(name: str):
        # Each child waits until every child has started, so their runs overlap.
        started.add(name)
        if len(started) == len(FAN_OUT_CHILDREN):
            all_started.set()
        await all_started.wait()
        await asyncio.sleep(0.01)
        return name

    root = Node(parent, uuid="parent")
    for name in FAN_OUT_CHILDREN:
        await root.connect(Node(child, uuid=name, kwargs={"name": name}))
    return TreeExecutor(description="fan-out", roots=[root])


async def build_cycle():
    async def ping(attempt: int):
        return attempt

    ping_node = Node(ping, uuid="ping", kwargs={"attempt": 1})

    async def pong(attempt: int):
        # Connecting `ping` back under `pong` closes the cycle: ping runs again
        # after pong completes, until CYCLE_RUNS runs.
        if attempt < CYCLE_RUNS:
            ping_node.kwargs["attempt"] = attempt + 1
            if ping_node not in pong_node.children:
                await pong_node.connect(ping_node)
        elif ping_node in pong_node.children:
            await pong_node.disconnect(ping_node)
        return attempt

    pong_node = Node(pong, uuid="pong")
    await ping_node.connect(pong_node, forward="attempt")
    return TreeExecutor(description="cycle", roots=[ping_node])


async def build_endings():
    victim_started = asyncio.Event()
    slow_started = asyncio.Event()

    async def victim():
        victim_started.set()
        await asyncio.Event().wait()

    async def canceller():
        await victim_started.wait()
        executor.cancel("victim", reason="cancelled by a test node")
        return "cancelled the victim"

    async def broken():
        # A failure stops new nodes from starting, so fail once the others run.
        await victim_started.wait()
        await slow_started.wait()
        raise ValueError("broken on purpose")

    async def slow():
        slow_started.set()
        await asyncio.sleep(0.05)

    roots = [
        Node(victim, uuid="victim"),
        Node(canceller, uuid="canceller"),
        Node(broken, uuid="broken"),
        Node(slow, uuid="slow", timeout=0.01),
    ]
    executor = TreeExecutor(description="endings", roots=roots)
    return executor
