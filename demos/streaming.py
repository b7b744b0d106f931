"""Streaming: three async generators yield tokens at different speeds, in parallel.

Each `*_writer` node is an async generator function standing in for a model
that streams its reply word by word: `fast_writer` yields every 0.04 s,
`steady_writer` every 0.1 s and `slow_writer` every 0.15 s. All three start at
once. Every yielded value reaches the app as soon as it is produced, as a
chunk.

When a generator node completes, what it forwards is its aggregated output:
the list of every value it yielded. `join_answers` has one parameter per writer
(`forward="fast"`, ...), so it starts after the slowest writer and receives
three lists of words.

Try:
- Select a writer and watch its chunks arrive while it runs.
- Press f on `slow_writer` to filter the log to its chunks only.
- Press p while the writers stream: running nodes keep streaming, because
  pause only stops new nodes from starting, so `join_answers` waits.
- Press c on `slow_writer`: `join_answers` never starts.
"""

import asyncio
from collections.abc import AsyncIterator

from grafo_core import Node, TreeExecutor

ANSWER = "a task tree runs each node as soon as all of its parents have completed"


async def stream_words(text: str, delay: float) -> AsyncIterator[str]:
    for word in text.split():
        await asyncio.sleep(delay)
        yield word


async def fast_writer() -> AsyncIterator[str]:
    async for word in stream_words(ANSWER, 0.04):
        yield word


async def steady_writer() -> AsyncIterator[str]:
    async for word in stream_words(ANSWER.upper(), 0.1):
        yield word


async def slow_writer() -> AsyncIterator[str]:
    async for word in stream_words(" ".join(reversed(ANSWER.split())), 0.15):
        yield word


async def join_answers(fast: list[str], steady: list[str], slow: list[str]) -> str:
    await asyncio.sleep(0.2)
    lines = [" ".join(words) for words in (fast, steady, slow)]
    for line in lines:
        print(line)
    return "\n".join(lines)


async def build() -> TreeExecutor:
    fast = Node(fast_writer, uuid="fast_writer")
    steady = Node(steady_writer, uuid="steady_writer")
    slow = Node(slow_writer, uuid="slow_writer")
    joined = Node(join_answers, uuid="join_answers")

    await fast.connect(joined, forward="fast")
    await steady.connect(joined, forward="steady")
    await slow.connect(joined, forward="slow")
    return TreeExecutor(description="streaming", roots=[fast, steady, slow])
