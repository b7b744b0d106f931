"""Node timeouts for one run: one timer, one queue per timeout value."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any


class Deadlines:
    """The node timeouts of one run: `expire(entry, attempt)` is called for
    each attempt that runs past its node's timeout.

    A timer per node (`asyncio.timeout`) costs a heap push and a cancel per
    node. Here the run keeps one `loop.call_at` for the earliest deadline.
    Attempts with the same timeout value reach their deadlines in the order
    they started, so a FIFO queue per value stays sorted without a heap. The
    queue is three parallel deques, which allocate nothing per attempt.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, expire: Callable[[Any, int], None]
    ) -> None:
        self.loop = loop
        self.expire = expire
        # Per timeout value: the deadlines, the entries and their attempts.
        self.queues: dict[float, tuple[deque[float], deque[Any], deque[int]]] = {}
        self.timer: asyncio.TimerHandle | None = None
        self.timer_when = 0.0

    def add(self, timeout: float, started: float, entry: Any, attempt: int) -> None:
        """Watch attempt `attempt` of `entry`, started at `started` (monotonic)."""
        deadline = started + timeout
        queue = self.queues.get(timeout)
        if queue is not None:
            # This deadline is no earlier than the queue's first one, which
            # the timer covers, because `_fire` drops a queue once it empties.
            queue[0].append(deadline)
            queue[1].append(entry)
            queue[2].append(attempt)
            return
        self.queues[timeout] = (deque([deadline]), deque([entry]), deque([attempt]))
        if self.timer is None or deadline < self.timer_when:
            if self.timer is not None:
                self.timer.cancel()
            self.timer_when = deadline
            self.timer = self.loop.call_at(deadline, self._fire)

    def _fire(self) -> None:
        self.timer = None
        now = self.loop.time()
        earliest = None
        for timeout, (deadlines, entries, attempts) in list(self.queues.items()):
            while deadlines and deadlines[0] <= now:
                deadlines.popleft()
                self.expire(entries.popleft(), attempts.popleft())
            if not deadlines:
                del self.queues[timeout]
            elif earliest is None or deadlines[0] < earliest:
                earliest = deadlines[0]
        if earliest is not None:
            self.timer_when = earliest
            self.timer = self.loop.call_at(earliest, self._fire)

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.queues.clear()
