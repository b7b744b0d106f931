"""Pilot tests that the screen drops what stopped being true about a run."""

from __future__ import annotations

import pathlib
import re

from textual.widgets import Button, Static

from grafo_core import events
from grafo_core.events import NodeState
from grafo_tui import app as app_module
from grafo_tui.app import GrafoApp
from grafo_tui.loader import LoadSpec
from grafo_tui.output_capture import OutputWritten
from grafo_tui.pipeline_messages import ExecutorAttached
from grafo_tui.runner import PipelineRunner
from grafo_tui.screens.remove_node_screen import RemoveNodeScreen
from grafo_tui.widgets.task_tree import BREAKPOINT_MARK

from .test_app import open_gated, select, shown, state, wait_until
from .test_app_messages import FakeRunner
from .test_snapshots import RUN, T0

DEMOS = pathlib.Path(__file__).parents[2] / "demos"
PIPELINES = pathlib.Path(__file__).parent / "pipelines"
SIZE = (120, 40)


def dialog_text(dialog: RemoveNodeScreen) -> str:
    return str(dialog.query_one("#description", Static).render())


def details_text(app: GrafoApp) -> str:
    return str(app.details.query_one("Static").render())


def demo_app(name: str, **options) -> GrafoApp:
    runner = PipelineRunner(LoadSpec(DEMOS / name, None), hold_on_error=True)
    return GrafoApp(runner, **options)


async def test_breakpoint_mark_leaves_skipped_node():
    app = demo_app("failures.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.model.held is not None, "first run held")
        await select(pilot, "warm_cache")
        await pilot.press("b", "e")
        await wait_until(pilot, lambda: app.runner.finished, "pipeline ended")
        await pilot.press("r")
        await wait_until(
            pilot, lambda: app.model.paused_at == "warm_cache", "paused at break"
        )
        assert f"{BREAKPOINT_MARK} paused here" in shown(app, "warm_cache")

        await wait_until(
            pilot, lambda: state(app, "warm_cache") is NodeState.SKIPPED, "skipped"
        )
        await pilot.pause(0.3)  # one redraw of the tree
        line = shown(app, "warm_cache")
        assert "paused here" not in line
        assert f"{BREAKPOINT_MARK} break" in line
        assert app.model.paused_at is None
        assert "paused at breakpoint" not in app.status_line.describe(app.model).plain


async def test_remove_dialog_follows_the_run():
    runner = PipelineRunner(LoadSpec(PIPELINES / "app_gated.py", None))
    app = GrafoApp(runner)
    async with app.run_test(size=SIZE) as pilot:
        gates = await open_gated(pilot)
        await wait_until(pilot, lambda: state(app, "fetch") is NodeState.RUNNING, "")
        await select(pilot, "fetch")
        await pilot.press("d")
        dialog = app.screen
        assert isinstance(dialog, RemoveNodeScreen)
        before = dialog_text(dialog)
        assert "It is running, so it is cancelled first." in before
        assert "so they never start" in before

        gates["fetch"].set()
        await wait_until(
            pilot, lambda: state(app, "double") is NodeState.RUNNING, "children run"
        )
        await wait_until(pilot, lambda: dialog_text(dialog) != before, "text redrawn")
        after = dialog_text(dialog)
        assert "cancelled first" not in after
        assert "so they never start" not in after
        assert "double" in after.split("cut off", 1)[1]
        assert app.screen is dialog

        for gate in gates.values():
            gate.set()
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await wait_until(
            pilot, lambda: "nothing to remove" in dialog_text(dialog), "run ended"
        )
        assert not dialog.query_one("#cascade", Button).display
        await pilot.press("escape")
        assert app.screen is not dialog


async def test_node_panel_follows_cursor_into_rerun():
    app = demo_app("failures.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.model.held is not None, "first run held")
        await select(pilot, "warm_cache")
        await pilot.press("e")
        await wait_until(pilot, lambda: app.runner.finished, "pipeline ended")
        first_model = app.model
        await pilot.press("R")
        await wait_until(
            pilot,
            lambda: app.model is not first_model and app.model.paused,
            "paused re-run",
        )
        await wait_until(
            pilot, lambda: app.selected_id == "warm_cache", "cursor restored"
        )
        await pilot.pause(0.3)
        text = details_text(app)
        assert "Select a node in the tree." not in text
        assert text.startswith("warm_cache")
        assert "waiting" in text.split("\n", 1)[0]


def status_seconds(app: GrafoApp) -> float:
    text = app.status_line.describe(app.model).plain
    match = re.search(r"  (\d+\.\d+)s", text)
    assert match is not None, text
    return float(match.group(1))


async def test_run_clock_never_goes_back_in_backlog(monkeypatch):
    monkeypatch.setattr(app_module, "MAX_BATCH", 10)
    now = [T0 + 1.0]
    started = [
        ExecutorAttached(None),
        events.RunStarted(RUN, None, T0, "printlots", ("a",), None),
        events.NodeAdded(RUN, "a", T0, "a", "a", False, True, None, "", ""),
        events.NodeStarted(RUN, "a", T0 + 0.1, 1, {}),
    ]
    app = GrafoApp(FakeRunner(started), clock=lambda: now[0])
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.model.running_count == 1, "running")
        assert status_seconds(app) == 1.0

        # The run printed a flood and ended at +2.55 s; the screen reads it
        # 10 items per drain while the clock reads +4.16 s.
        now[0] = T0 + 4.16
        for index in range(40):
            moment = T0 + 1.0 + index * 0.03
            app.runner.queue.put(
                OutputWritten(f"line {index}\n", "stdout", "a", moment)
            )
        app.runner.queue.put(events.NodeSucceeded(RUN, "a", T0 + 2.5, 2.4, None, 0))
        app.runner.queue.put(events.RunFinished(RUN, None, T0 + 2.55, 0, False))
        readings = []
        while not app.model.is_finished:
            app.drain_queue()
            readings.append(status_seconds(app))
        assert readings == sorted(readings)
        assert readings[-1] == 2.55
        assert max(readings) == 2.55


async def test_timeline_leaves_out_paused_start():
    items = [
        ExecutorAttached(None),
        events.RunStarted(RUN, None, T0, "paused start", ("a",), None),
        events.NodeAdded(RUN, "a", T0, "a", "a", False, True, None, "", ""),
        events.NodeAdded(RUN, "b", T0, "b", "b", False, False, None, "", ""),
        events.EdgeAdded(RUN, "b", T0, "a", None),
        events.RunPaused(RUN, None, T0),
        events.RunResumed(RUN, None, T0 + 20.0),
        events.NodeStarted(RUN, "a", T0 + 20.0, 1, {}),
        events.NodeSucceeded(RUN, "a", T0 + 21.0, 1.0, None, 0),
        events.NodeStarted(RUN, "b", T0 + 21.0, 1, {}),
        events.NodeSucceeded(RUN, "b", T0 + 22.0, 1.0, None, 0),
        events.RunFinished(RUN, None, T0 + 22.0, 0, False),
    ]
    app = GrafoApp(FakeRunner(items), clock=lambda: T0 + 30.0)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await pilot.press("v")
        await pilot.pause()
        chart = app.timeline.chart
        axis = chart._axis_text().plain
        assert axis.lstrip().startswith("from |20.0")
        assert "|0s" not in axis
        width = chart.bar_width
        a_cells = [cell for cell in chart.row_cells("a") if cell is not None]
        b_cells = [cell for cell in chart.row_cells("b") if cell is not None]
        assert len(a_cells) >= width // 2 - 1
        assert len(b_cells) >= width // 2 - 1
        assert chart.row_cells("a")[0] is NodeState.SUCCEEDED
