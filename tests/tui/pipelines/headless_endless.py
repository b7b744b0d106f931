"""A node that yields chunks until it is cancelled, so the output never ends."""

import asyncio
import itertools

from grafo_core import Node


async def count_forever():
    for number in itertools.count():
        yield number
        await asyncio.sleep(0.001)


def build():
    return Node(count_forever, uuid="count_forever", timeout=None)
