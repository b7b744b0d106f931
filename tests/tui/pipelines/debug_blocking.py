"""One node blocks the event loop; its siblings wait without blocking it.

`blocker` calls `threading.Event.wait` inside `async def`, which holds the
loop's thread until the test sets RELEASE. `polite` waits with
`asyncio.sleep` and `threaded` in a worker thread, so neither blocks.
"""

import asyncio
import threading

from grafo_core import Node

RELEASE = threading.Event()


async def blocker():
    RELEASE.wait(10)  # blocks the event loop
    return "done"


async def polite():
    while not RELEASE.is_set():
        await asyncio.sleep(0.01)
    return "done"


async def threaded():
    await asyncio.to_thread(RELEASE.wait, 10)
    return "done"


def build():
    return [
        Node(polite, uuid="polite"),
        Node(threaded, uuid="threaded"),
        Node(blocker, uuid="blocker"),
    ]
