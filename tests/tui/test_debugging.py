"""Pilot tests of the debugging tools on small pipeline files and the real runner."""

from __future__ import annotations

import json
import pathlib

import pytest
from textual.widgets import Input

from grafo_core.events import NodeState
from grafo_tui.app import GrafoApp
from grafo_tui.loader import LoadSpec
from grafo_tui.runner import PipelineRunner
from grafo_tui.screens.fault_screen import FaultScreen
from grafo_tui.widgets.timeline import tree_order

from .test_app import select, shown, state, wait_until

PIPELINES = pathlib.Path(__file__).parent / "pipelines"
DEMOS = pathlib.Path(__file__).parents[2] / "demos"
SIZE = (120, 40)


def make_app(path: pathlib.Path, **options) -> GrafoApp:
    runner = PipelineRunner(LoadSpec(path, None), hold_on_error=True)
    return GrafoApp(runner, **options)


def pipeline_globals(app: GrafoApp, function: str) -> dict:
    return app.runner.functions[function].__globals__


def details_text(app: GrafoApp) -> str:
    return str(app.details.query_one("Static").render())


def status_text(app: GrafoApp) -> str:
    return app.status_line.describe(app.model).plain


async def loaded(pilot, function: str, node_id: str) -> dict:
    """Wait until the pipeline is loaded and `node_id` drawn; return its globals."""
    app = pilot.app
    await wait_until(pilot, lambda: function in app.runner.functions, "loaded")
    await wait_until(pilot, lambda: node_id in app.task_tree.placements, "drawn")
    return pipeline_globals(app, function)


# --- timeline ---------------------------------------------------------------------


async def test_timeline_bars_of_fan_out():
    app = make_app(PIPELINES / "debug_fan_out.py")
    async with app.run_test(size=SIZE) as pilot:
        gates = (await loaded(pilot, "child", "c"))["GATES"]
        await pilot.press("v")
        running = [NodeState.RUNNING] * 3
        children = ("a", "b", "c")
        await wait_until(
            pilot, lambda: [state(app, i) for i in children] == running, "fan-out"
        )
        for gate in gates.values():
            gate.set()
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await pilot.pause()

        assert app.timeline.display
        assert tree_order(app.model) == ["start", "a", "b", "c"]
        chart = app.timeline.chart
        assert chart.rows == ["start", "a", "b", "c"]
        spans = {i: app.model.nodes[i].spans for i in ("start", *children)}
        assert all(len(node_spans) == 1 for node_spans in spans.values())
        root_end = spans["start"][0].end
        for child in children:
            assert spans[child][0].start >= root_end
            assert spans[child][0].state is NodeState.SUCCEEDED
        latest_start = max(spans[i][0].start for i in children)
        earliest_end = min(spans[i][0].end for i in children)
        assert latest_start < earliest_end

        columns = {
            i: [c for c, cell in enumerate(chart.row_cells(i)) if cell] for i in spans
        }
        assert all(columns.values())
        assert columns["start"][0] == 0
        for child in children:
            assert columns[child][0] >= columns["start"][-1]
        shared = set(columns["a"]) & set(columns["b"]) & set(columns["c"])
        assert shared
        assert max(app.timeline.plot.samples) == 3
        # Short ids still leave room for the plot's own labels.
        plot_rows = str(app.timeline.plot.render()).splitlines()
        assert plot_rows[1].split()[0] == "running"


async def test_timeline_bar_per_cycle_run():
    app = make_app(DEMOS / "cycle.py")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")
        await wait_until(pilot, lambda: app.model.is_finished, "run finished", 400)
        await pilot.pause()
        node = app.model.nodes["call_service"]
        assert node.runs == 3
        assert len(node.spans) == 3
        starts = [span.start for span in node.spans]
        assert starts == sorted(starts)
        cells = app.timeline.chart.row_cells("call_service")
        bars = sum(
            1
            for column, cell in enumerate(cells)
            if cell and (column == 0 or not cells[column - 1])
        )
        assert bars == 3


# --- event loop blocking --------------------------------------------------------


async def check_block_reported(pilot, block_line: int) -> None:
    app = pilot.app
    await wait_until(pilot, lambda: app.model.blocking is not None, "block seen")
    block = app.model.blocking
    assert block.node_id == "blocker"
    assert block.location.endswith(f"debug_blocking.py:{block_line}")
    assert app.model.nodes["blocker"].blocked_at == block.location
    assert app.model.nodes["polite"].blocked_at is None
    assert app.model.nodes["threaded"].blocked_at is None
    await pilot.pause()
    assert "blocks the loop at debug_blocking.py" in shown(app, "blocker")
    assert "blocks the loop" not in shown(app, "polite")
    assert "loop blocked by blocker" in status_text(app)


async def test_blocking_node_flagged_live():
    path = PIPELINES / "debug_blocking.py"
    block_line = next(
        number
        for number, text in enumerate(path.read_text().splitlines(), start=1)
        if "# blocks the event loop" in text
    )
    app = make_app(path, block_threshold=0.05)
    async with app.run_test(size=SIZE) as pilot:
        release = (await loaded(pilot, "blocker", "blocker"))["RELEASE"]
        try:
            await check_block_reported(pilot, block_line)
        finally:
            release.set()
        await wait_until(pilot, lambda: app.model.block_count >= 1, "block ended")
        warnings = [line for line in app.chunk_log.lines if line.kind == "warning"]
        assert warnings
        assert {line.node_id for line in warnings} == {"blocker"}
        assert "blocked the event loop for" in warnings[0].text
        assert app.model.nodes["blocker"].blocked_at is None
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        assert "loop blocked 1 time" in status_text(app)


# --- breakpoints, retry, faults -----------------------------------------------


# `b` on an ended run sets the breakpoint for the next run (test_next_run.py).
@pytest.mark.parametrize("key", ["i", "a", "d", "s"])
async def test_command_on_ended_run_rejected(key):
    app = GrafoApp(PipelineRunner(LoadSpec(PIPELINES / "app_layered.py", None)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await select(pilot, "L3-2")
        screen = app.screen
        await pilot.press(key)
        await pilot.pause(0.05)
        assert app.screen is screen
        view = app.model.nodes["L3-2"]
        assert not view.has_breakpoint
        assert view.fault is None
        messages = [n.message for n in app._notifications]
        assert len(messages) == 1
        assert "the run has ended" in messages[0]


async def test_breakpoint_pauses_before_node():
    app = make_app(PIPELINES / "app_gated.py")
    async with app.run_test(size=SIZE) as pilot:
        gates = await loaded(pilot, "fetch", "join")
        gates = gates["GATES"]
        await select(pilot, "double")
        await pilot.press("b")
        assert app.model.nodes["double"].has_breakpoint
        await pilot.pause(0.05)
        gates["fetch"].set()
        await wait_until(pilot, lambda: app.model.paused_at == "double", "paused")
        assert state(app, "double") is NodeState.READY
        assert app.model.nodes["double"].runs == 0
        assert "paused at breakpoint on double" in status_text(app)
        assert "paused here" in shown(app, "double")

        await pilot.press("p")
        await wait_until(pilot, lambda: state(app, "double") is NodeState.RUNNING, "")
        assert app.model.paused_at is None
        for gate in gates.values():
            gate.set()
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        assert state(app, "join") is NodeState.SUCCEEDED


async def test_retry_failed_node_after_fix():
    app = make_app(PIPELINES / "debug_flaky.py")
    async with app.run_test(size=SIZE) as pilot:
        fixed = (await loaded(pilot, "flaky", "report"))["FIXED"]
        await wait_until(pilot, lambda: app.model.held is not None, "run held")
        assert state(app, "flaky") is NodeState.FAILED
        assert not app.model.is_finished
        assert "held: press t to retry" in status_text(app)

        fixed["value"] = True
        await select(pilot, "flaky")
        await pilot.press("t")
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        assert state(app, "flaky") is NodeState.SUCCEEDED
        assert state(app, "report") is NodeState.SUCCEEDED
        assert app.model.nodes["flaky"].runs == 2
        assert app.model.nodes["report"].output_repr == "'got 7'"


async def fix_and_retry(pilot) -> None:
    """Wait for flaky to fail and the run to be held, fix it, retry it."""
    app = pilot.app
    fixed = (await loaded(pilot, "flaky", "report"))["FIXED"]
    await wait_until(pilot, lambda: app.model.held is not None, "run held")
    fixed["value"] = True
    await select(pilot, "flaky")
    await pilot.press("t")
    await wait_until(pilot, lambda: app.model.is_finished, "run finished")


async def test_retried_success_exits_zero():
    app = make_app(PIPELINES / "debug_flaky.py")
    async with app.run_test(size=SIZE) as pilot:
        await fix_and_retry(pilot)
        await wait_until(pilot, lambda: app.pipeline_ended, "pipeline ended")
        # The run's first error stays in its error count after the retry.
        assert app.model.error_count == 1
        assert state(app, "flaky") is NodeState.SUCCEEDED
        await pilot.press("q")
        await wait_until(pilot, lambda: not app.is_running, "app exited")
    assert app.return_code == 0


async def test_release_ends_held_run():
    app = make_app(PIPELINES / "debug_flaky.py")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, "flaky", "report")
        await wait_until(pilot, lambda: app.model.held is not None, "run held")
        await pilot.press("e")
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        assert state(app, "flaky") is NodeState.FAILED
        assert state(app, "report") is NodeState.SKIPPED


async def test_retry_refuses_succeeded_node():
    app = make_app(PIPELINES / "debug_flaky.py")
    async with app.run_test(size=SIZE) as pilot:
        await fix_and_retry(pilot)
        await pilot.press("t")
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert any("only a failed" in message for message in messages)


async def test_injected_fault_fails_node():
    app = make_app(PIPELINES / "app_gated.py")
    async with app.run_test(size=SIZE) as pilot:
        gates = (await loaded(pilot, "fetch", "join"))["GATES"]
        await select(pilot, "double")
        await pilot.press("i")
        screen = app.screen
        assert isinstance(screen, FaultScreen)
        screen.query_one("#error", Input).value = "disk full"
        await pilot.click("#inject")
        await wait_until(pilot, lambda: app.screen is not screen, "form closed")
        assert app.model.nodes["double"].fault is not None
        assert "fault armed" in shown(app, "double")

        for gate in gates.values():
            gate.set()
        await wait_until(pilot, lambda: state(app, "double") is NodeState.FAILED, "")
        error = app.model.nodes["double"].error
        assert type(error).__name__ == "InjectedFault"
        assert "disk full" in str(error)

        # The fault fires once, so a retry runs the node's own code.
        await wait_until(pilot, lambda: app.model.held is not None, "run held")
        await pilot.press("t")
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        assert state(app, "double") is NodeState.SUCCEEDED
        assert state(app, "join") is NodeState.SUCCEEDED


async def test_fault_form_rejects_empty_fault():
    app = make_app(PIPELINES / "app_gated.py")
    async with app.run_test(size=SIZE) as pilot:
        gates = (await loaded(pilot, "fetch", "join"))["GATES"]
        await select(pilot, "double")
        await pilot.press("i")
        screen = app.screen
        screen.query_one("#error", Input).value = ""
        screen.query_one("#delay", Input).value = "0"
        await pilot.click("#inject")
        assert app.screen is screen
        assert "error" in str(screen.query_one("#errors").render())
        await pilot.press("escape")
        assert app.model.nodes["double"].fault is None
        for gate in gates.values():
            gate.set()


# --- where a node waits, edge values ------------------------------------------


async def test_details_show_innermost_await():
    app = make_app(PIPELINES / "app_gated.py")
    async with app.run_test(size=SIZE) as pilot:
        gates = (await loaded(pilot, "fetch", "join"))["GATES"]
        await select(pilot, "fetch")
        await wait_until(pilot, lambda: app.model.nodes["fetch"].awaiting, "where")
        # The panel is redrawn at the next paced refresh.
        await wait_until(pilot, lambda: "awaiting" in details_text(app), "shown")
        lines = details_text(app).splitlines()
        awaiting = next(line for line in lines if line.startswith("awaiting"))
        # The pipeline's own line, not asyncio's `sleep` below it.
        assert "app_gated.py" in awaiting
        assert awaiting.endswith("in wait_for")
        assert not any("in sleep" in line for line in lines)
        assert any("app_gated.py" in line and "in fetch" in line for line in lines)
        for gate in gates.values():
            gate.set()
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        assert app.model.nodes["fetch"].awaiting == ()


async def test_details_show_forwarded_values():
    app = make_app(PIPELINES / "app_gated.py")
    async with app.run_test(size=SIZE) as pilot:
        gates = (await loaded(pilot, "fetch", "join"))["GATES"]
        await select(pilot, "double")
        assert "fetch -> value: not received yet" in details_text(app)
        # Paused, fetch completes and hands its value over before double runs.
        await pilot.press("p")
        gates["fetch"].set()
        await wait_until(
            pilot, lambda: state(app, "fetch") is NodeState.SUCCEEDED, "fetch done"
        )
        sent = "fetch -> value: sent, used when this node starts"
        await wait_until(pilot, lambda: sent in details_text(app), "sent shown")
        assert state(app, "double") is NodeState.READY
        await pilot.press("p")
        await wait_until(pilot, lambda: state(app, "double") is NodeState.RUNNING, "")
        received = "fetch -> value = 21  (int)"
        await wait_until(pilot, lambda: received in details_text(app), "value shown")
        await select(pilot, "tokens")
        assert "fetch: passes no data" in details_text(app)
        for gate in gates.values():
            gate.set()


# --- export -----------------------------------------------------------------------


async def test_export_key_writes_files(tmp_path):
    app = make_app(PIPELINES / "debug_flaky.py", export_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fix_and_retry(pilot)
        await pilot.press("x")
        await wait_until(
            pilot, lambda: len(list(tmp_path.glob("*.trace.json"))) == 1, "export"
        )
        await wait_until(
            pilot,
            lambda: any("Exported" in n.message for n in app._notifications),
            "export notice",
        )

    (events_file,) = tmp_path.glob("debug_flaky-*.events.jsonl")
    records = [json.loads(line) for line in events_file.read_text().splitlines()]
    types = [record["type"] for record in records]
    assert types[0] == "RunStarted"
    assert "RunFinished" in types
    assert types.count("NodeSucceeded") == 2

    (trace_file,) = tmp_path.glob("debug_flaky-*.trace.json")
    trace = json.loads(trace_file.read_text())
    trace_events = trace["traceEvents"] if isinstance(trace, dict) else trace
    slices = {e["name"] for e in trace_events if e.get("ph") == "X"}
    assert {"flaky", "report"} <= slices

    (svg_file,) = tmp_path.glob("debug_flaky-*.svg")
    assert svg_file.read_text().lstrip().startswith("<svg")


# --- node class and declared type -------------------------------------------------


async def test_details_name_the_class_and_declared_type():
    app = make_app(PIPELINES / "typed_nodes.py")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, "count", "plain")
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await select(pilot, "typed")
        assert field_value(app, "class") == "Node[int]: values must be int"
        await select(pilot, "custom")
        assert field_value(app, "class") == "RetryingNode"
        await select(pilot, "plain")
        assert field_value(app, "class") is None


def field_value(app: GrafoApp, name: str) -> str | None:
    """Return the value of the Node panel's `name` line, or `None`."""
    for line in details_text(app).splitlines():
        if line.split(" ", 1)[0] == name:
            return line[len(name) :].strip()
    return None
