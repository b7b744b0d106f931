"""Tests of the loop watchdog and the model's block and timeline records."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Iterator

import pytest

from grafo_core import events
from grafo_tui.model import RunModel
from grafo_tui.screens.fault_screen import parse_fault_form
from grafo_tui.watchdog import LoopBlocked, LoopUnblocked, LoopWatchdog


def blocking_callback(release: threading.Event) -> None:
    release.wait(5)  # blocks the loop outside any node


@contextlib.contextmanager
def watched_loop() -> Iterator[tuple[asyncio.AbstractEventLoop, queue.SimpleQueue]]:
    """Run an event loop on a thread under a watchdog with a 0.02 s threshold;
    yield the loop and the queue the watchdog reports to."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    messages: queue.SimpleQueue = queue.SimpleQueue()
    watchdog = LoopWatchdog(messages.put, lambda: (loop, thread.ident), threshold=0.02)
    watchdog.start()
    try:
        yield loop, messages
    finally:
        watchdog.stop()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_watchdog_reports_block_outside_nodes():
    release = threading.Event()
    with watched_loop() as (loop, messages):
        try:
            loop.call_soon_threadsafe(blocking_callback, release)
            blocked = messages.get(timeout=5)
            release.set()
            unblocked = messages.get(timeout=5)
        finally:
            release.set()
    assert isinstance(blocked, LoopBlocked)
    assert blocked.node_id is None
    assert blocked.function == "blocking_callback"
    assert blocked.file.endswith("test_debugging_watchdog.py")
    assert isinstance(unblocked, LoopUnblocked)
    assert unblocked.node_id is None
    assert unblocked.seconds > 0


def test_watchdog_ignores_a_stall_with_no_user_code():
    # Here only the standard library's Event.wait is on the loop's thread,
    # as the loop's own select is on a busy machine. No pipeline code is
    # there to point at, so the stall gets no report.
    release = threading.Event()
    with watched_loop() as (loop, messages):
        try:
            loop.call_soon_threadsafe(threading.Event().wait, 0.2)
            loop.call_soon_threadsafe(blocking_callback, release)
            first = messages.get(timeout=5)
        finally:
            release.set()
    # The first report is the user callback's; the library wait before it
    # was not reported.
    assert isinstance(first, LoopBlocked)
    assert first.function == "blocking_callback"


def test_watchdog_rejects_zero_threshold():
    with pytest.raises(ValueError):
        LoopWatchdog(print, lambda: None, threshold=0)


def run_events():
    run = "r"
    added = [
        events.NodeAdded(run, name, 0.0, name, name, False, True, None, "", "")
        for name in ("a", "b")
    ]
    return [
        events.RunStarted(run, None, 0.0, "", ("a", "b"), None),
        *added,
        events.NodeStarted(run, "a", 0.0, 1, {}),
        events.NodeStarted(run, "b", 1.0, 1, {"x": 5}),
        events.NodeSucceeded(run, "a", 2.0, 2.0, 1, 0),
        events.NodeFailed(run, "b", 3.0, 2.0, ValueError("bad")),
        events.RunFinished(run, None, 4.0, 1, False),
    ]


def test_model_records_spans_and_running():
    model = RunModel()
    for event in run_events():
        model.apply(event)
    (span_a,) = model.nodes["a"].spans
    (span_b,) = model.nodes["b"].spans
    assert (span_a.start, span_a.end) == (0.0, 2.0)
    assert span_b.state.value == "failed"
    assert model.nodes["b"].kwarg_types == {"x": "int"}
    assert model.running_samples(0.0, 4.0, 4) == [1, 2, 1, 0]


def test_model_block_log_line():
    model = RunModel()
    for event in run_events()[:4]:
        model.apply(event)
    model.loop_blocked("a", "/somewhere/pipeline.py", 12, "work", 0.5)
    assert model.nodes["a"].blocked_at == "/somewhere/pipeline.py:12"
    line = model.loop_unblocked("a", 1.25)
    assert line.node_id == "a"
    assert line.text.startswith("blocked the event loop for 1.25 s")
    assert model.nodes["a"].blocked_at is None
    assert model.block_count == 1


@pytest.mark.parametrize(
    ("error", "delay", "valid"),
    [("boom", "0", True), ("", "1.5", True), ("", "0", False), ("x", "-1", False)],
)
def test_fault_form(error, delay, valid):
    request, errors = parse_fault_form(error, delay)
    assert (request is not None) is valid
    assert bool(errors) is not valid
