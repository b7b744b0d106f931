"""One async generator that yields until it is stopped, and records its cleanup.

STARTED is set once the first chunk is out; CLOSED gets "stream" when the
generator's finally block has run. When GRAFO_TEST_MARKER names a file, the
finally block also writes "closed" to it, for tests that run grafo-tui in a
subprocess.
"""

import asyncio
import os
import threading

from grafo_core import Node, TreeExecutor

STARTED = threading.Event()
CLOSED: list[str] = []


async def stream():
    index = 0
    try:
        while True:
            yield index
            if index == 0:
                print("stream started", flush=True)
                STARTED.set()
            index += 1
            await asyncio.sleep(0.02)
    finally:
        await asyncio.sleep(0)
        CLOSED.append("stream")
        marker = os.environ.get("GRAFO_TEST_MARKER")
        if marker:
            with open(marker, "w", encoding="utf-8") as file:
                file.write("closed")


async def waiting():
    await asyncio.Event().wait()


def build():
    return TreeExecutor(
        uuid="gated-stream",
        roots=[
            Node(stream, uuid="stream", timeout=None),
            Node(waiting, uuid="waiting", timeout=None),
        ],
    )
