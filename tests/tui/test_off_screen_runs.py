"""Pilot tests of a run that leaves the screen while it is still going.

The screen shows the run that started last, so no key reaches an older run
that still runs: the app must not leave it held or paused.
"""

from __future__ import annotations

import pathlib

from grafo_core import events
from grafo_core.events import NodeState
from grafo_tui.app import GrafoApp
from grafo_tui.loader import LoadSpec
from grafo_tui.runner import PipelineRunner

from .test_app import SIZE, state, wait_until

PIPELINES = pathlib.Path(__file__).parent / "pipelines"
LEFT_SCREEN = "run alpha (alpha) is not on screen now"


def make_app(file_name: str, **options) -> GrafoApp:
    # As the command line does: every run is held open after a failure.
    runner = PipelineRunner(LoadSpec(PIPELINES / file_name, None), hold_on_error=True)
    return GrafoApp(runner, **options)


def log_texts(app: GrafoApp) -> list[str]:
    return [line.text for line in app.chunk_log.lines]


def left_screen_lines(app: GrafoApp) -> list[str]:
    return [text for text in log_texts(app) if text.startswith(LEFT_SCREEN)]


def received(app: GrafoApp, kind: type, run_id: str, node_id: str | None = None):
    """Return the drained events of `kind` from run `run_id` (and `node_id`)."""
    return [
        item
        for item in app.record
        if type(item) is kind
        and item.run_id == run_id
        and (node_id is None or item.node_id == node_id)
    ]


def printed(app: GrafoApp) -> str:
    return "".join(app.output_panel.lines)


async def quit_and_confirm(pilot) -> None:
    app = pilot.app
    await pilot.press("q")
    await pilot.pause()
    if app.is_running and not app.runner.finished:
        await pilot.press("y")
    await wait_until(pilot, lambda: not app.is_running, "app exited")


# --- holding after a failure ------------------------------------------------------


async def test_failure_off_screen_not_held():
    app = make_app("off_screen_failure.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.pipeline_ended, "pipeline ended")
        assert received(app, events.NodeFailed, "alpha", "a1")
        assert received(app, events.RunFinished, "alpha")
        assert "both done" in printed(app)
        # The script went on past the gather to its third tree.
        assert app.model.run_id == "gamma"
        assert state(app, "g0") is NodeState.SUCCEEDED

        texts = log_texts(app)
        (line,) = left_screen_lines(app)
        assert line.endswith("runs on without holding or pausing.")
        assert "resumed" not in line
        assert texts.index(line) < texts.index("run beta (beta) started")

        await quit_and_confirm(pilot)
    assert app.return_code == 1


async def test_held_run_ends_once_off_screen():
    app = make_app("off_screen_held.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.pipeline_ended, "pipeline ended")
        assert received(app, events.RunHeld, "alpha")
        finished = received(app, events.RunFinished, "alpha")
        assert [event.error_count for event in finished] == [1]
        assert "both done" in printed(app)
        assert app.model.run_id == "beta"
        assert len(left_screen_lines(app)) == 1

        await quit_and_confirm(pilot)
    assert app.return_code == 1


async def test_quit_counts_off_screen_failure():
    # Beta starts paused and stays so; alpha, resumed off screen, fails.
    app = make_app("off_screen_failure.py", start_paused=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(
            pilot, lambda: received(app, events.RunFinished, "alpha"), "alpha ended"
        )
        await wait_until(pilot, lambda: app.model.run_id == "beta", "beta shown")
        assert app.model.paused
        assert not app.model.counts()[NodeState.FAILED]
        assert not app.runner.finished

        await quit_and_confirm(pilot)
    assert app.return_code == 1


# --- pausing ------------------------------------------------------------------------


async def open_gate_and_finish(pilot) -> None:
    """Let alpha's gated node return; check that alpha ends off screen."""
    app = pilot.app
    await wait_until(pilot, lambda: left_screen_lines(app), "alpha let go")
    app.runner.functions["gated"].__globals__["GATE"].set()
    await wait_until(
        pilot, lambda: received(app, events.RunFinished, "alpha"), "alpha ended"
    )
    assert received(app, events.NodeSucceeded, "alpha", "a1")
    assert app.model.run_id == "beta"


async def test_paused_start_resumed_off_screen():
    app = make_app("off_screen_paused.py", start_paused=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_gate_and_finish(pilot)
        (line,) = left_screen_lines(app)
        assert "so it is resumed and runs on" in line
        # The run on screen still starts paused.
        assert app.model.paused
        assert not app.runner.finished

        await pilot.press("p")
        await wait_until(pilot, lambda: app.pipeline_ended, "pipeline ended")
        assert "both done" in printed(app)
        assert state(app, "b0") is NodeState.SUCCEEDED


async def test_pause_key_resumed_off_screen():
    app = make_app("off_screen_paused.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: state(app, "a0") is NodeState.RUNNING, "a0")
        await pilot.press("p")
        await open_gate_and_finish(pilot)
        (line,) = left_screen_lines(app)
        assert "so it is resumed and runs on" in line
        await wait_until(pilot, lambda: app.pipeline_ended, "pipeline ended")
        assert "both done" in printed(app)


async def test_breakpoint_cleared_off_screen():
    app = make_app("off_screen_paused.py")
    app.breakpoints = frozenset({"a1"})
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "gated" in app.runner.functions, "loaded")
        app.runner.functions["gated"].__globals__["GATE"].set()
        await wait_until(
            pilot, lambda: received(app, events.RunPaused, "alpha"), "at breakpoint"
        )
        await open_gate_and_finish(pilot)
        (line,) = left_screen_lines(app)
        assert "so it is resumed and runs on" in line
        await wait_until(pilot, lambda: app.pipeline_ended, "pipeline ended")
        assert "both done" in printed(app)
