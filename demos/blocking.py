"""Blocking: `time.sleep` inside `async def` stops every other node.

All nodes share one event loop thread. `await asyncio.sleep(...)` hands the
loop back while it waits, so other nodes keep running. `time.sleep(...)` keeps
the thread busy, so nothing else moves until it returns.

`ticker` streams the time since it started, about every 0.1 s. Next to it,
a chain of three nodes each waits 1.0 s in a different way:

- `polite_wait` uses `await asyncio.sleep(1.0)`: the ticker keeps ticking.
- `blocking_wait` uses `time.sleep(1.0)`: the ticker stops, and so does every
  other node, for the whole second. The ticker's chunks jump from about 1 s
  to 2 s.
- `threaded_wait` runs the same `time.sleep(1.0)` in a worker thread with
  `await asyncio.to_thread(...)`: the ticker ticks again. This is the fix for
  blocking calls you cannot rewrite.

Try:
- Select `ticker` and watch its chunks: they pause while `blocking_wait` runs.
- Press f on `ticker` and look for the gap of about 1.0 s between two ticks.
- Press p while `blocking_wait` runs: the app stays responsive because the
  pipeline runs in its own thread, but the pause takes effect only after the
  blocking call returns.
"""

import asyncio
import time
from collections.abc import AsyncIterator

from grafo_core import Node, TreeExecutor

TICKS = 30


async def ticker() -> AsyncIterator[str]:
    began = time.monotonic()
    for _ in range(TICKS):
        await asyncio.sleep(0.1)
        yield f"{time.monotonic() - began:.1f} s"


async def polite_wait() -> str:
    await asyncio.sleep(1.0)
    return "slept without blocking"


async def blocking_wait() -> str:
    time.sleep(1.0)  # Blocks the event loop: the mistake this demo shows.
    return "blocked the loop"


async def threaded_wait() -> str:
    await asyncio.to_thread(time.sleep, 1.0)
    return "slept in a worker thread"


async def build() -> TreeExecutor:
    tick = Node(ticker, uuid="ticker")
    polite = Node(polite_wait, uuid="polite_wait")
    blocking = Node(blocking_wait, uuid="blocking_wait")
    threaded = Node(threaded_wait, uuid="threaded_wait")

    await polite.connect(blocking)
    await blocking.connect(threaded)
    return TreeExecutor(description="blocking", roots=[tick, polite])
