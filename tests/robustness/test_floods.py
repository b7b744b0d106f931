"""A node that yields chunks as fast as it can: the screen stays responsive and
bounded, the queue stays bounded, and the events export keeps every chunk."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading

from grafo_core.events import NodeState
from grafo_tui import backpressure
from grafo_tui.backpressure import ThrottledPut
from grafo_tui.export import RunExporter
from grafo_tui.screens.help_screen import HelpScreen
from tests.robustness.helpers import (
    PIPELINES,
    REPOSITORY,
    make_app,
    wait_until,
    widget_text,
)

FLOOD_FILE = PIPELINES / "flood.py"
TEST_CHUNKS = 50_000
SUBPROCESS_TIMEOUT = 120  # seconds; only a guard against a hung test


async def test_flood_screen_bounded_and_responsive(tmp_path, monkeypatch):
    # A cap far above what the test lets through: the test's gate ends it.
    monkeypatch.setenv("GRAFO_FLOOD_CHUNKS", "2000000")
    app = make_app("flood.py:gated")
    exporter = RunExporter(events_path=tmp_path / "events.jsonl")
    exporter.attach(app.runner)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: "gated_flood" in app.runner.functions, "load")
        module_globals = app.runner.functions["gated_flood"].__globals__
        await wait_until(
            pilot,
            lambda: (
                "flood" in app.model.nodes
                and app.model.nodes["flood"].chunk_count > 20_000
            ),
            "flood under way",
        )
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert app.model.nodes["flood"].state is NodeState.RUNNING
        assert not module_globals["GATE"].is_set()
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)

        module_globals["GATE"].set()
        await wait_until(
            pilot,
            lambda: app.model.is_finished and app.runner.queue.empty(),
            "flood drained",
            attempts=3000,
        )
        await pilot.pause(0.1)
        total = module_globals["COUNTS"]["gated_flood"]
        log = app.chunk_log

        assert app.model.nodes["flood"].chunk_count == total
        assert len(log.lines) <= log.max_lines
        assert log.dropped > 0
        assert log.dropped + len(log.lines) >= total
        log.scroll_home(animate=False, immediate=True)
        await pilot.pause(0.05)
        assert f"{log.dropped} earlier lines dropped" in widget_text(log)
    app.runner.stop()
    exporter.close()

    exported = []
    with (tmp_path / "events.jsonl").open(encoding="utf-8") as file:
        for line in file:
            if line.startswith('{"type":"ChunkEmitted"'):
                exported.append(json.loads(line)["index"])
    assert len(exported) == total
    assert exported == list(range(total))


def test_headless_flood_exports_every_chunk(tmp_path):
    events_file = tmp_path / "events.jsonl"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "grafo_tui",
            "--headless",
            "--events",
            str(events_file),
            str(FLOOD_FILE),
        ],
        cwd=REPOSITORY,
        env={**os.environ, "GRAFO_FLOOD_CHUNKS": str(TEST_CHUNKS)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )
    indexes = []
    with events_file.open(encoding="utf-8") as file:
        for line in file:
            if line.startswith('{"type":"ChunkEmitted"'):
                indexes.append(json.loads(line)["index"])

    assert completed.returncode == 0
    assert completed.stderr == ""
    assert indexes == list(range(TEST_CHUNKS))


# --- backpressure on the runner's queue ---------------------------------------------


def test_throttle_waits_for_consumer(monkeypatch):
    monkeypatch.setattr(backpressure, "MAX_QUEUED_EVENTS", 4000)
    target: queue.SimpleQueue[int] = queue.SimpleQueue()
    put = ThrottledPut(target, lambda: False)
    received: list[int] = []
    sizes: list[int] = []
    done = threading.Event()

    def consume() -> None:
        while not done.is_set() or not target.empty():
            try:
                received.append(target.get(timeout=0.01))
            except queue.Empty:
                continue
            if len(received) % 100 == 0:
                sizes.append(target.qsize())

    consumer = threading.Thread(target=consume)
    consumer.start()
    for item in range(40_000):
        put(item)
    done.set()
    consumer.join(10)

    assert received == list(range(40_000))
    assert put.waits > 0
    assert max(sizes) <= 4000 + backpressure._CHECK_EVERY


def test_throttle_gives_up_without_consumer(monkeypatch):
    monkeypatch.setattr(backpressure, "MAX_QUEUED_EVENTS", 2000)
    monkeypatch.setattr(backpressure, "_STALLED_AFTER", 0.02)
    target: queue.SimpleQueue[int] = queue.SimpleQueue()
    put = ThrottledPut(target, lambda: False)
    for item in range(20_000):
        put(item)

    assert target.qsize() == 20_000
    assert put.waits == 1


def test_throttle_stops_waiting_on_stop(monkeypatch):
    monkeypatch.setattr(backpressure, "MAX_QUEUED_EVENTS", 2000)
    target: queue.SimpleQueue[int] = queue.SimpleQueue()
    put = ThrottledPut(target, lambda: True)
    for item in range(10_000):
        put(item)

    assert target.qsize() == 10_000
