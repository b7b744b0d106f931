"""Notice node code that blocks the pipeline's event loop, while it blocks.

A thread of its own sends a heartbeat callback to the pipeline's loop with
`call_soon_threadsafe` and waits for the loop to run it. A free loop runs the
heartbeat within milliseconds. A loop stuck in a synchronous call
(`time.sleep` inside `async def`, a long computation) runs it only when that
call returns. When the heartbeat is later than the
threshold, the watchdog reads the pipeline thread's current frame with
`sys._current_frames()`, names the node with `grafo_core.node_of_frame`, and
puts `LoopBlocked` on the queue; once the heartbeat runs it puts
`LoopUnblocked` with the time the loop was blocked.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grafo_core
from grafo_tui.model_views import is_library_file

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.1
"""Seconds a heartbeat may be late before the loop counts as blocked."""


@dataclass(frozen=True, slots=True)
class LoopBlocked:
    """The pipeline's event loop has not run a callback for `threshold` seconds.

    Attributes:
        node_id: The node whose code runs on the loop's thread now, or `None`
            when the thread is outside node code.
        file: File of the innermost frame outside the standard library and
            installed packages (or the innermost frame, when all are there).
        line: Line number in `file`.
        function: Name of the function of that frame.
        since: `time.monotonic()` when the late heartbeat was sent.
    """

    node_id: str | None
    file: str
    line: int
    function: str
    since: float


@dataclass(frozen=True, slots=True)
class LoopUnblocked:
    """The pipeline's event loop runs callbacks again after a `LoopBlocked`.

    Attributes:
        node_id: The node named by the `LoopBlocked` before, or `None`.
        seconds: How long the heartbeat waited, a lower bound of the block.
    """

    node_id: str | None
    seconds: float


def blocking_location(frame: types.FrameType | None) -> tuple[str, int, str]:
    """Return ``(file, line, function)`` of the innermost frame of user code.

    Library frames (standard library, site-packages, grafo_core) are skipped,
    so `json.loads` on a huge string points at the line that called it.
    Returns the innermost frame when every frame is library code, and
    ``("", 0, "")`` for no frame.
    """
    chosen = _innermost_user_frame(frame) or frame
    if chosen is None:
        return ("", 0, "")
    return (chosen.f_code.co_filename, chosen.f_lineno, chosen.f_code.co_name)


def _innermost_user_frame(frame: types.FrameType | None) -> types.FrameType | None:
    """Return the innermost frame outside library code, or `None`."""
    current = frame
    while current is not None:
        if not is_library_file(current.f_code.co_filename):
            return current
        current = current.f_back
    return None


class LoopWatchdog:
    """Send heartbeats to a pipeline's loop from a thread and report late ones.

    `target` returns the loop to watch and the id of the thread that runs it,
    or `None` while there is none. The watchdog calls it on every check, so it
    follows the pipeline from one run's loop to the next.
    """

    def __init__(
        self,
        put: Callable[[Any], None],
        target: Callable[[], tuple[asyncio.AbstractEventLoop, int] | None],
        *,
        threshold: float = DEFAULT_THRESHOLD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not threshold > 0:
            raise ValueError(f"threshold must be more than 0 seconds, got {threshold}")
        self.put = put
        self.target = target
        self.threshold = threshold
        self.clock = clock
        self.interval = min(max(threshold / 10, 0.005), 0.02)
        """Seconds between two checks of the heartbeat."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._answered = threading.Event()
        self._sent_at: float | None = None
        self._sent_loop: asyncio.AbstractEventLoop | None = None
        self._answered_at = 0.0
        self._blocked: LoopBlocked | None = None

    def start(self) -> None:
        """Start the watchdog thread."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._watch, name="grafo-tui loop watchdog", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the watchdog thread; safe to call twice and before `start()`."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._check()
            except Exception:
                # A bug here must not end the detector silently for the session.
                logger.exception("The loop watchdog failed a check")

    def _check(self) -> None:
        if self._sent_at is not None and self._answered.is_set():
            self._on_answer()
        if self._sent_at is None:
            self._send_heartbeat()
            return

        loop = self._sent_loop
        assert loop is not None
        if loop.is_closed() or not loop.is_running():
            # The heartbeat can never run: the run's loop ended meanwhile.
            self._on_answer(self.clock())
            return
        late = self.clock() - self._sent_at
        if self._blocked is None and late >= self.threshold:
            self._report_block()

    def _send_heartbeat(self) -> None:
        target = self.target()
        if target is None:
            return
        loop, _ = target
        if loop.is_closed() or not loop.is_running():
            return
        self._answered.clear()
        sent_at = self.clock()
        try:
            loop.call_soon_threadsafe(self._beat)
        except RuntimeError:  # the loop closed after the check above
            return
        self._sent_at = sent_at
        self._sent_loop = loop

    def _beat(self) -> None:
        """Runs on the pipeline's loop: stamp the time the loop got to it."""
        self._answered_at = self.clock()
        self._answered.set()

    def _on_answer(self, answered_at: float | None = None) -> None:
        blocked = self._blocked
        sent_at = self._sent_at
        self._sent_at = None
        self._sent_loop = None
        self._blocked = None
        if blocked is None or sent_at is None:
            return
        end = self._answered_at if answered_at is None else answered_at
        self.put(LoopUnblocked(blocked.node_id, max(0.0, end - sent_at)))

    def _report_block(self) -> None:
        target = self.target()
        frame = None
        if target is not None:
            frame = sys._current_frames().get(target[1])
        node_id = grafo_core.node_of_frame(frame)
        if node_id is None and _innermost_user_frame(frame) is None:
            # No node and no user code on the thread: the loop is in its own
            # or the engine's code, or the thread waits for a CPU on a busy
            # machine. Neither is code to point at; look again next check.
            del frame
            return
        file, line, function = blocking_location(frame)
        del frame  # frames keep their locals alive
        loop = self._sent_loop
        if loop is None or loop.is_closed() or not loop.is_running():
            # The loop stopped after the last check, between two passes of
            # the pipeline: the heartbeat waits for the next start, and the
            # frame read is the pipeline thread's own code between loops.
            self._on_answer(self.clock())
            return
        assert self._sent_at is not None
        self._blocked = LoopBlocked(node_id, file, line, function, self._sent_at)
        self.put(self._blocked)
