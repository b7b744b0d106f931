"""Node functions that the add-node form offers besides the loaded file's own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable


async def sleep(seconds: float = 1.0) -> float:
    """Wait `seconds`, then return them."""
    await asyncio.sleep(seconds)
    return seconds


async def stream(count: int = 5, interval: float = 0.2) -> AsyncIterator[int]:
    """Yield the numbers 0 to `count - 1`, one every `interval` seconds."""
    for index in range(count):
        await asyncio.sleep(interval)
        yield index


async def fail(message: str = "this node fails on purpose") -> None:
    """Raise `RuntimeError(message)`."""
    raise RuntimeError(message)


BUILTINS: dict[str, Callable] = {"sleep": sleep, "stream": stream, "fail": fail}
"""Built-in node functions by the name the add-node form shows."""
