"""Pilot tests of what a re-run starts with: breakpoints, and starting paused."""

from __future__ import annotations

import logging
import pathlib
import sys
import threading

import pytest

from grafo_core import Node, TreeExecutor
from grafo_core.events import NodeState
from grafo_tui import cli
from grafo_tui.app import GrafoApp
from grafo_tui.debug_commands import ENGINE_LOGGER, _quiet_engine_warnings
from grafo_tui.loader import LoadSpec
from grafo_tui.runner import PipelineRunner

from .test_app import SIZE, open_gated, select, state, wait_until

PIPELINES = pathlib.Path(__file__).parent / "pipelines"

TWO_STEPS = """
from grafo_core import Node


async def step():
    return None


async def build():
    first = Node(step, uuid="first")
    second = Node(step, uuid="{second}")
    await first.connect(second)
    return [first]
"""


def make_app(path: pathlib.Path, **options) -> GrafoApp:
    return GrafoApp(PipelineRunner(LoadSpec(path, None)), **options)


def messages(app: GrafoApp) -> list[str]:
    return [notification.message for notification in app._notifications]


def log_texts(app: GrafoApp) -> list[str]:
    return [line.text for line in app.chunk_log.lines]


async def rerun(pilot, key: str = "r") -> None:
    """Press `key` and wait until the new run's tree is drawn."""
    app = pilot.app
    first_model = app.model
    await pilot.press(key)
    await wait_until(
        pilot,
        lambda: app.model is not first_model and app.model.nodes,
        "new run attached",
    )


# --- breakpoints for the next run -----------------------------------------------


async def test_breakpoint_on_ended_run_arms_next():
    app = make_app(PIPELINES / "app_layered.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.pipeline_ended, "pipeline ended")
        await select(pilot, "L3-2")
        await pilot.press("b")
        await pilot.pause()
        assert app.model.nodes["L3-2"].has_breakpoint
        assert any("next run pauses before L3-2" in m for m in messages(app))

        await rerun(pilot)
        await wait_until(pilot, lambda: app.model.paused_at == "L3-2", "paused")
        assert state(app, "L3-2") is NodeState.READY
        assert app.model.nodes["L3-2"].runs == 0
        assert app.model.nodes["L3-2"].has_breakpoint
        assert state(app, "L4-0") is NodeState.WAITING
        assert any("carried over to this run: L3-2" in m for m in messages(app))

        await pilot.press("p")
        await wait_until(pilot, lambda: app.model.is_finished, "second run finished")
        assert state(app, "L7-3") is NodeState.SUCCEEDED


async def test_breakpoint_cleared_on_ended_run():
    app = make_app(PIPELINES / "app_layered.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.pipeline_ended, "pipeline ended")
        await select(pilot, "L3-2")
        await pilot.press("b")
        await pilot.press("b")
        await pilot.pause()
        assert not app.model.nodes["L3-2"].has_breakpoint
        assert any("no longer pauses before L3-2" in m for m in messages(app))

        await rerun(pilot)
        await wait_until(pilot, lambda: app.model.is_finished, "second run finished")
        assert app.model.paused_at is None
        assert state(app, "L3-2") is NodeState.SUCCEEDED
        assert app.breakpoints == frozenset()


async def test_root_breakpoint_survives_rerun():
    app = make_app(PIPELINES / "app_gated.py")
    async with app.run_test(size=SIZE) as pilot:
        gates = await open_gated(pilot)
        # `fetch` is running, so its breakpoint pauses only its next start.
        await select(pilot, "fetch")
        await pilot.press("b")
        await pilot.pause()
        assert app.model.nodes["fetch"].has_breakpoint
        for gate in gates.values():
            gate.set()
        await wait_until(pilot, lambda: app.pipeline_ended, "pipeline ended")
        assert state(app, "join") is NodeState.SUCCEEDED

        # The re-run loads the file again and builds a new executor.
        old_executor = app.runner.executor
        await rerun(pilot)
        assert app.runner.executor is not old_executor
        await wait_until(pilot, lambda: app.model.paused_at == "fetch", "paused")
        assert state(app, "fetch") is NodeState.READY
        assert app.model.nodes["fetch"].runs == 0
        assert app.model.nodes["fetch"].has_breakpoint

        new_gates = app.runner.functions["fetch"].__globals__["GATES"]
        for gate in new_gates.values():
            gate.set()
        await pilot.press("p")
        await wait_until(pilot, lambda: app.pipeline_ended, "second pass ended")
        assert state(app, "join") is NodeState.SUCCEEDED


async def test_breakpoint_on_missing_node_dropped(tmp_path):
    path = tmp_path / "two_steps.py"
    path.write_text(TWO_STEPS.format(second="second"))
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.pipeline_ended, "pipeline ended")
        for node_id in ("first", "second"):
            await select(pilot, node_id)
            await pilot.press("b")
        await pilot.pause()
        assert app.breakpoints == {"first", "second"}

        path.write_text(TWO_STEPS.format(second="renamed"))
        await rerun(pilot)
        await wait_until(pilot, lambda: app.model.paused_at == "first", "paused")
        missing = [m for m in messages(app) if "No node in the new tree" in m]
        assert len(missing) == 1
        assert "second" in missing[0]
        assert "renamed" not in missing[0]
        assert any("No node in the new tree" in text for text in log_texts(app))

        await pilot.press("p")
        await wait_until(pilot, lambda: app.pipeline_ended, "second pass ended")
        await wait_until(pilot, lambda: app.breakpoints == {"first"}, "dropped")
        assert any("Breakpoint removed from second" in m for m in messages(app))
        assert any("Breakpoint removed from second" in t for t in log_texts(app))
        assert state(app, "renamed") is NodeState.SUCCEEDED


class StderrHandler(logging.Handler):
    """Write records to whatever sys.stderr is at the time, as Python's
    last-resort handler does when logging has no handler configured."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(self.format(record) + "\n")


@pytest.fixture
def engine_log_on_stderr():
    """Send the engine's log records to sys.stderr, as outside pytest, whose
    own handlers would otherwise take them."""
    logger = logging.getLogger("grafo_core")
    handler = StderrHandler(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


@pytest.mark.usefixtures("engine_log_on_stderr")
async def test_missing_breakpoint_warns_only_in_app(tmp_path):
    path = tmp_path / "two_steps.py"
    path.write_text(TWO_STEPS.format(second="second"))
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.pipeline_ended, "pipeline ended")
        await select(pilot, "second")
        await pilot.press("b")
        await pilot.pause()

        path.write_text(TWO_STEPS.format(second="renamed"))
        await rerun(pilot)
        await wait_until(pilot, lambda: app.pipeline_ended, "second pass ended")
        output = "".join(app.output_panel.lines)
        assert "set_breakpoint" not in output
        assert "has no node with that uuid" not in output
        assert any("No node in the new tree" in m for m in messages(app))
        # The engine still has it, for a node the run might have added.
        assert "second" in app.runner.executor.breakpoints


def test_quiet_engine_warnings_only_on_own_thread(caplog):
    executor = TreeExecutor(roots=[Node(step_for_warnings, uuid="present")])
    with caplog.at_level(logging.WARNING, logger=ENGINE_LOGGER):
        with _quiet_engine_warnings():
            executor.set_breakpoint("missing-here")
            other = threading.Thread(
                target=executor.set_breakpoint, args=("missing-there",)
            )
            other.start()
            other.join()
        executor.set_breakpoint("missing-after")
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "missing-here" not in logged
    assert "missing-there" in logged
    assert "missing-after" in logged


async def step_for_warnings():
    return None


# --- starting paused --------------------------------------------------------------


async def check_paused_start(pilot) -> None:
    """Check that the run on screen is paused with no node started, then step."""
    app = pilot.app
    await wait_until(pilot, lambda: app.model.paused, "run paused")
    await pilot.pause(0.05)
    assert app.model.paused_at is None
    assert all(node.runs == 0 for node in app.model.nodes.values())
    assert state(app, "L0-0") is NodeState.READY
    await pilot.press("s")
    await wait_until(pilot, lambda: state(app, "L0-0") is NodeState.SUCCEEDED, "step")
    assert state(app, "L0-1") is NodeState.READY
    await pilot.press("p")
    await wait_until(pilot, lambda: app.model.is_finished, "run finished")


async def test_start_paused_option():
    app = make_app(PIPELINES / "app_layered.py", start_paused=True)
    async with app.run_test(size=SIZE) as pilot:
        await check_paused_start(pilot)
        assert any("starts paused" in m for m in messages(app))
        # `r` keeps the option: the re-run starts paused too.
        await wait_until(pilot, lambda: app.pipeline_ended, "pipeline ended")
        await rerun(pilot)
        await check_paused_start(pilot)


async def test_rerun_paused_key():
    app = make_app(PIPELINES / "app_layered.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.pipeline_ended, "pipeline ended")
        assert not app.model.paused
        await rerun(pilot, "R")
        await check_paused_start(pilot)

        # Without the option, `r` starts the next run unpaused again.
        await wait_until(pilot, lambda: app.pipeline_ended, "pipeline ended")
        await rerun(pilot)
        await wait_until(pilot, lambda: app.model.is_finished, "third run finished")
        assert state(app, "L7-3") is NodeState.SUCCEEDED


async def test_rerun_paused_in_help_and_palette():
    app = make_app(PIPELINES / "app_layered.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.pipeline_ended, "pipeline ended")
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Re-run paused" in titles
        await pilot.press("question_mark")
        await pilot.pause()
        assert ("R", "Re-run paused") in app.screen.keys
        await pilot.press("escape")


# --- the --paused option ------------------------------------------------------------


class RecordingApp:
    """Stands in for `GrafoApp`: records its options and exits at once."""

    options: dict = {}

    def __init__(self, runner, **options) -> None:
        RecordingApp.options = options
        self.return_code = 0

    def run(self) -> None:
        pass


@pytest.mark.parametrize(("arguments", "paused"), [(["--paused"], True), ([], False)])
def test_paused_option_reaches_app(monkeypatch, arguments, paused):
    monkeypatch.setattr("grafo_tui.app.GrafoApp", RecordingApp)
    monkeypatch.setattr("grafo_tui.app.freeze_loaded_objects", lambda: None)
    code = cli.main([*arguments, str(PIPELINES / "app_layered.py")])
    assert code == 0
    assert RecordingApp.options.get("start_paused", False) is paused


def test_paused_option_rejects_headless(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--headless", "--paused", str(PIPELINES / "app_layered.py")])
    assert exit_info.value.code == 2
    assert "--paused needs the screen" in capsys.readouterr().err
