"""Reading where node code is: the await chain of a task, the node of a frame
or of the running task."""

from __future__ import annotations

import asyncio
import types
from typing import Any

from grafo_core import _live
from grafo_core._live import current_node, live_runs
from grafo_core._run import Run

_MAX_DEPTH = 200
DRIVE_CODE = Run._drive.__code__
"""The code of the coroutine that each node's task starts with."""


def await_chain(coroutine: Any, generator: Any = None) -> list[tuple[str, int, str]]:
    """Return ``(file, line, function)`` for each frame of a suspended coroutine,
    following what it awaits down to the innermost frame.

    `generator` is the async generator a node is iterating: an `await` on its
    ``__anext__()`` does not link back to it, so the walk jumps there.
    """
    frames: list[tuple[str, int, str]] = []
    current = coroutine
    for _ in range(_MAX_DEPTH):
        if current is None:
            break
        frame = (
            getattr(current, "cr_frame", None)
            or getattr(current, "ag_frame", None)
            or getattr(current, "gi_frame", None)
        )
        if frame is not None:
            code = frame.f_code
            frames.append((code.co_filename, frame.f_lineno, code.co_name))
        awaited = (
            getattr(current, "cr_await", None)
            or getattr(current, "ag_await", None)
            or getattr(current, "gi_yieldfrom", None)
        )
        if type(awaited).__name__ == "async_generator_asend":
            awaited, generator = generator, None
        current = awaited
    return frames


def node_of_frame(frame: types.FrameType | None) -> str | None:
    """Return the uuid of the node whose code `frame` runs, or `None`.

    Meant for a frame read from another thread (``sys._current_frames()``),
    for example to name the node that blocks an event loop. It walks out
    from `frame` to the coroutine frame a `TreeExecutor` started.
    """
    # The frames each running task started in. The dictionaries belong to
    # another thread; copying them is one C call, which holds the GIL.
    starts: dict[Any, str] = {}
    for run in tuple(live_runs):
        for entry in tuple(run.entries.values()):
            task = entry.task
            if task is not None:
                start = getattr(task.get_coro(), "cr_frame", None)
                if start is not None:
                    starts[start] = entry.node.uuid
    for _ in range(_MAX_DEPTH):
        if frame is None:
            return None
        uuid = starts.get(frame)
        if uuid is not None:
            return uuid
        frame = frame.f_back
    return None


def current_node_id() -> str | None:
    """Return the uuid of the node whose code runs in the current asyncio task.

    It names the node in the node's own task. With `track_node_context` on,
    it also names the node in tasks and callbacks that node code starts
    (``asyncio.gather`` of coroutines, ``create_task``, ``loop.call_soon``)
    and in a function it hands to ``asyncio.to_thread``, which copy the
    node's context. Returns `None` outside any node.
    """
    node_id = current_node.get()
    if node_id is not None:
        return node_id
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no event loop runs in this thread
        return None
    if task is None:
        return None
    # The node's own task starts with the scheduler's driver coroutine,
    # whose frame keeps the node's entry.
    frame = getattr(task.get_coro(), "cr_frame", None)
    if frame is None or frame.f_code is not DRIVE_CODE:
        return None
    entry = frame.f_locals.get("entry")
    return None if entry is None else entry.node.uuid


def track_node_context(enabled: bool = True) -> None:
    """Make runs that start from now on record each node in its task's context.

    Then `current_node_id` also names the node in the tasks, callbacks and
    threads that node code starts. It costs one context-variable write per
    node start, about 3% of a no-op node, so it is off by default. grafo-tui
    turns it on to label what each node prints.
    """
    _live.tracking = bool(enabled)
