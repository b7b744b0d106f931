"""Put engine events on the runner's queue, waiting while the queue is too long."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import Any

MAX_QUEUED_EVENTS = 100_000
"""Queue length above which the pipeline thread waits for the consumer.

A node that yields chunks in a tight loop produces events faster than the
screen applies them (about 60,000 a second on a 2-CPU machine), so without a
limit the queue, and memory, would grow with the run's length.
"""

_CHECK_EVERY = 1024
"""Events put between two checks of the queue's length."""

_STALLED_AFTER = 1.0
"""Seconds without the queue shrinking after which the consumer counts as gone."""


class ThrottledPut:
    """The engine subscriber that puts events on the queue, with backpressure.

    Every `_CHECK_EVERY` events it checks the queue's length. Above
    `MAX_QUEUED_EVENTS` it blocks the pipeline thread, and so the pipeline's
    event loop, until the consumer has taken the queue down to half that.
    Nothing is dropped. If the queue stops shrinking for `_STALLED_AFTER`
    seconds, nobody is consuming, so it stops waiting until the queue is
    short again rather than block the pipeline for ever.

    NOTE: while the thread waits, no node makes progress but wall-clock time
    passes, so a node's timeout can expire during the wait.
    """

    def __init__(
        self, target: queue.SimpleQueue[Any], stopping: Callable[[], bool]
    ) -> None:
        self._put = target.put
        self._size = target.qsize
        self._stopping = stopping
        self._count = 0
        self._consumer_gone = False
        self.waits = 0
        """How many times the pipeline thread waited for the consumer."""

    def __call__(self, item: Any) -> None:
        self._put(item)
        self._count += 1
        if self._count % _CHECK_EVERY:
            return
        size = self._size()
        if self._consumer_gone:
            self._consumer_gone = size > MAX_QUEUED_EVENTS // 2
        elif size > MAX_QUEUED_EVENTS:
            self._wait()

    def _wait(self) -> None:
        self.waits += 1
        smallest = self._size()
        progress_at = time.monotonic()
        while not self._stopping():
            size = self._size()
            if size <= MAX_QUEUED_EVENTS // 2:
                return
            now = time.monotonic()
            if size < smallest:
                smallest = size
                progress_at = now
            elif now - progress_at > _STALLED_AFTER:
                self._consumer_gone = True
                return
            time.sleep(0.002)
