"""Pilot tests of the grafo-tui screen on small pipeline files and the real runner."""

from __future__ import annotations

import pathlib
import threading

import pytest
from textual.widgets import Input, Select, Static

from grafo_core.events import NodeState
from grafo_tui.app import GrafoApp
from grafo_tui.loader import LoadSpec
from grafo_tui.runner import PipelineRunner
from grafo_tui.screens.add_node_screen import AddNodeScreen
from grafo_tui.screens.quit_screen import QuitScreen
from grafo_tui.screens.remove_node_screen import RemoveNodeScreen
from grafo_tui.widgets.task_tree import SPINNER, STATE_MARKS

PIPELINES = pathlib.Path(__file__).parent / "pipelines"
SIZE = (120, 40)


def make_app(file_name: str) -> GrafoApp:
    return GrafoApp(PipelineRunner(LoadSpec(PIPELINES / file_name, None)))


async def wait_until(pilot, condition, what: str, attempts: int = 250) -> None:
    """Let the app run until `condition()` holds, in steps of 0.02 s."""
    for _ in range(attempts):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting until {what}")


def shown(app: GrafoApp, node_id: str, placement: int = 0) -> str:
    """Return the tree line of a node as drawn, without the expand icon."""
    tree_node = app.task_tree.placements[node_id][placement]
    return app.task_tree.node_text(tree_node).plain


def state(app: GrafoApp, node_id: str) -> NodeState | None:
    node = app.model.nodes.get(node_id)
    return node.state if node else None


async def open_gated(pilot) -> dict:
    """Wait for the gated pipeline to start; return its gates by node id."""
    app = pilot.app
    await wait_until(pilot, lambda: "fetch" in app.runner.functions, "loaded")
    await wait_until(pilot, lambda: "join" in app.task_tree.placements, "tree drawn")
    return app.runner.functions["fetch"].__globals__["GATES"]


async def select(pilot, node_id: str) -> None:
    await pilot.press("slash")
    await pilot.press(*node_id, "enter")
    await wait_until(pilot, lambda: pilot.app.selected_id == node_id, "selected")


async def test_tree_shows_states_as_run_progresses():
    app = make_app("app_gated.py")
    async with app.run_test(size=SIZE) as pilot:
        gates = await open_gated(pilot)
        await wait_until(pilot, lambda: state(app, "fetch") is NodeState.RUNNING, "")
        assert shown(app, "fetch")[0] in SPINNER
        assert shown(app, "double").startswith(STATE_MARKS[NodeState.WAITING])

        gates["fetch"].set()
        await wait_until(pilot, lambda: state(app, "double") is NodeState.RUNNING, "")
        assert shown(app, "fetch").startswith(STATE_MARKS[NodeState.SUCCEEDED])
        assert shown(app, "double")[0] in SPINNER
        assert shown(app, "join").startswith(STATE_MARKS[NodeState.WAITING])

        for gate in gates.values():
            gate.set()
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        for node_id in ("fetch", "double", "tokens", "join"):
            assert shown(app, node_id).startswith(STATE_MARKS[NodeState.SUCCEEDED])


async def test_node_with_two_parents_shown_under_each():
    app = make_app("app_gated.py")
    async with app.run_test(size=SIZE) as pilot:
        await open_gated(pilot)
        placements = app.task_tree.placements["join"]
        parents = sorted(p.parent.data.node_id for p in placements)
        assert parents == ["double", "tokens"]
        assert placements[0].data is placements[1].data


async def test_chunks_appear_in_order():
    app = make_app("app_gated.py")
    async with app.run_test(size=SIZE) as pilot:
        gates = await open_gated(pilot)
        for gate in gates.values():
            gate.set()
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        chunks = [line.text for line in app.chunk_log.lines if line.kind == "chunk"]
        assert chunks == ["token-0", "token-1", "token-2", "last [bold]token[/]"]
        assert "4 chunks" in shown(app, "tokens")


async def add_node(pilot, parent_id: str, node_id: str, kwargs: str) -> None:
    await select(pilot, parent_id)
    await pilot.press("a")
    screen = pilot.app.screen
    assert isinstance(screen, AddNodeScreen)
    screen.query_one("#node-id", Input).value = node_id
    screen.query_one("#function", Select).value = "sleep (built-in)"
    screen.query_one("#kwargs", Input).value = kwargs
    await pilot.click("#add")
    await wait_until(pilot, lambda: node_id in pilot.app.model.nodes, "node added")


async def test_add_under_finished_parent_runs():
    app = make_app("app_gated.py")
    async with app.run_test(size=SIZE) as pilot:
        gates = await open_gated(pilot)
        gates["fetch"].set()
        await wait_until(pilot, lambda: state(app, "fetch").is_finished, "fetch")
        await add_node(pilot, "fetch", "extra", "{'seconds': 0}")
        await wait_until(pilot, lambda: state(app, "extra").is_finished, "extra")
        assert state(app, "extra") is NodeState.SUCCEEDED
        assert app.model.nodes["extra"].parents == {"fetch": None}
        # The tree is redrawn on its own pace, after the model.
        await wait_until(pilot, lambda: "extra" in app.task_tree.placements, "drawn")
        for gate in gates.values():
            gate.set()


async def test_add_under_waiting_node_waits():
    app = make_app("app_gated.py")
    async with app.run_test(size=SIZE) as pilot:
        gates = await open_gated(pilot)
        await add_node(pilot, "join", "later", "{'seconds': 0}")
        assert state(app, "later") is NodeState.WAITING
        assert "join (waiting)" in app.model.why_not_running("later")
        for gate in gates.values():
            gate.set()
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        assert state(app, "later") is NodeState.SUCCEEDED


async def test_add_form_rejects_invalid_kwargs():
    app = make_app("app_gated.py")
    async with app.run_test(size=SIZE) as pilot:
        gates = await open_gated(pilot)
        await select(pilot, "fetch")
        await pilot.press("a")
        screen = app.screen
        screen.query_one("#kwargs", Input).value = "{'a': __import__('os')}"
        await pilot.click("#add")
        assert app.screen is screen
        errors = str(screen.query_one("#errors").render())
        assert "kwargs" in errors
        await pilot.press("escape")
        assert app.screen is not screen
        for gate in gates.values():
            gate.set()


async def remove(pilot, node_id: str, button: str) -> None:
    await select(pilot, node_id)
    await pilot.press("d")
    assert isinstance(pilot.app.screen, RemoveNodeScreen)
    await pilot.click(f"#{button}")
    await wait_until(pilot, lambda: node_id not in pilot.app.model.nodes, "removed")


async def test_remove_waiting_node():
    app = make_app("app_gated.py")
    async with app.run_test(size=SIZE) as pilot:
        gates = await open_gated(pilot)
        await remove(pilot, "join", "cascade")
        tree = app.task_tree
        await wait_until(pilot, lambda: "join" not in tree.placements, "undrawn")
        for gate in gates.values():
            gate.set()
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        assert "join" not in app.model.nodes


async def test_remove_running_node_cancels_it():
    app = make_app("app_gated.py")
    async with app.run_test(size=SIZE) as pilot:
        gates = await open_gated(pilot)
        gates["fetch"].set()
        await wait_until(pilot, lambda: state(app, "double") is NodeState.RUNNING, "")
        await remove(pilot, "double", "cascade")
        tree = app.task_tree
        await wait_until(pilot, lambda: "double" not in tree.placements, "undrawn")
        assert app.model.nodes["join"].parents == {"tokens": None}
        for gate in gates.values():
            gate.set()
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        assert state(app, "join") is NodeState.SUCCEEDED


async def test_pause_step_resume():
    app = make_app("app_gated.py")
    async with app.run_test(size=SIZE) as pilot:
        gates = await open_gated(pilot)
        await pilot.press("p")
        await wait_until(pilot, lambda: app.model.paused, "paused")
        gates["fetch"].set()
        gates["double"].set()
        await wait_until(pilot, lambda: state(app, "double") is NodeState.READY, "")
        assert state(app, "tokens") is NodeState.READY
        assert shown(app, "double").startswith(STATE_MARKS[NodeState.READY])
        assert "paused" in app.model.why_not_running("double")

        def still_ready() -> list[str]:
            pair = ("double", "tokens")
            return [i for i in pair if state(app, i) is NodeState.READY]

        # fetch already ran, so max_running is 1 before the step: wait for
        # the step itself to move one node out of the ready state.
        await pilot.press("s")
        await wait_until(pilot, lambda: len(still_ready()) < 2, "one step")
        await pilot.pause(0.2)
        assert len(still_ready()) == 1

        await pilot.press("p")
        await wait_until(pilot, lambda: not app.model.paused, "resumed")
        gates["tokens"].set()
        gates["join"].set()
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        assert state(app, "join") is NodeState.SUCCEEDED


async def test_filter_log_to_selected_node():
    app = make_app("app_gated.py")
    async with app.run_test(size=SIZE) as pilot:
        gates = await open_gated(pilot)
        for gate in gates.values():
            gate.set()
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await select(pilot, "tokens")
        await pilot.press("f")
        node_ids = {line.node_id for line in app.chunk_log.visible_lines}
        # Run-wide lines (node_id None) stay to keep runs apart.
        assert node_ids == {"tokens", None}
        await pilot.press("f")
        assert len(app.chunk_log.visible_lines) == len(app.chunk_log.lines)


async def test_failed_node_details():
    app = make_app("app_failing.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await select(pilot, "broken")
        details = str(app.details.query_one("Static").render())
        assert "ValueError: row 2 has no 'id' column" in details
        assert "Traceback" in details
        assert shown(app, "broken").startswith(STATE_MARKS[NodeState.FAILED])


async def test_quit_asks_while_running():
    app = make_app("app_gated.py")
    async with app.run_test(size=SIZE) as pilot:
        gates = await open_gated(pilot)
        await pilot.press("q")
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, QuitScreen)
        assert app.is_running
        await pilot.press("q", "y")
        await wait_until(pilot, lambda: not app.is_running, "app exited")
        for gate in gates.values():
            gate.set()
    assert app.runner.finished


async def test_quit_dialog_notes_run_end():
    app = make_app("app_gated.py")
    async with app.run_test(size=SIZE) as pilot:
        gates = await open_gated(pilot)
        await pilot.press("q")
        assert isinstance(app.screen, QuitScreen)
        for gate in gates.values():
            gate.set()
        await wait_until(pilot, lambda: app.pipeline_ended, "pipeline ended")
        question = app.screen.query_one("#question", Static)
        await wait_until(
            pilot, lambda: "has ended" in str(question.render()), "question reworded"
        )
        await pilot.press("y")
        await wait_until(pilot, lambda: not app.is_running, "app exited")


async def test_load_error_exits_with_code_2():
    app = make_app("app_script_error.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: not app.is_running, "app exited")
    assert app.return_code == 2


async def test_load_error_keeps_what_the_file_printed():
    app = make_app("app_prints_then_fails.py")
    messages = []
    exit_app = app.exit

    def record_exit(return_code=0, message=None):
        # Textual prints `message` on the terminal once the screen is gone.
        messages.append(str(message))
        exit_app(return_code=return_code, message=message)

    app.exit = record_exit
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: not app.is_running, "app exited")
    assert app.return_code == 2
    assert messages[0].index("about to fail") < messages[0].index("folder is missing")


@pytest.mark.parametrize(
    ("file_name", "status"), [("app_failing.py", 1), ("app_layered.py", 0)]
)
async def test_quit_exit_status_follows_failures(file_name, status):
    # As with --headless: 1 when a node failed or timed out, else 0.
    app = make_app(file_name)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await pilot.press("q")
        await wait_until(pilot, lambda: not app.is_running, "app exited")
    assert app.return_code == status


async def test_shared_subtrees_drawn_once():
    app = make_app("app_layered.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await wait_until(pilot, lambda: "L7-3" in app.task_tree.placements, "drawn")
        placements = sum(len(p) for p in app.task_tree.placements.values())
        edges = 7 * 4 * 4
        assert placements <= 4 + edges
        assert len(app.task_tree.placements["L7-0"]) == 4
        shared = [shown(app, "L1-0", i) for i in range(4)]
        assert sum("children shown above" in line for line in shared) == 3


async def test_output_tab_shows_text_after_dropping():
    app = make_app("app_prints.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await pilot.pause(0.2)
        app.query_one("TabbedContent").active = "output-tab"
        await pilot.pause(0.2)
        panel = app.output_panel
        assert panel.line_count < 12_000
        assert panel.virtual_size.height == panel.line_count
        assert "line 11" in panel.render_line(0).text


async def test_rerun_status_while_reloading():
    app = make_app("app_layered.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        first_model = app.model
        # Hold the runner's read of the file, as a slow build() would.
        gate = threading.Event()
        read = app.runner._read

        def held_read():
            gate.wait(10)
            return read()

        app.runner._read = held_read
        await pilot.press("r")
        status = app.status_line
        await wait_until(
            pilot, lambda: "loading the file again" in str(status.render()), "shown"
        )
        gate.set()
        await wait_until(pilot, lambda: app.model is not first_model, "new run")
        await wait_until(
            pilot,
            lambda: "loading the file again" not in str(status.render()),
            "cleared",
        )


async def test_jump_takes_shown_completion():
    app = make_app("app_layered.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await pilot.press("slash", *"l3-", "2", "enter")
        await wait_until(pilot, lambda: app.selected_id == "L3-2", "selected")
        await pilot.press("slash", *"nothing", "enter")
        errors = app.screen.query_one("#errors", Static)
        assert "Escape" in str(errors.render())
        await pilot.press("escape")


async def test_rerun_keeps_the_selected_node():
    app = make_app("app_layered.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await select(pilot, "L3-2")
        first_model = app.model
        await pilot.press("r")
        await wait_until(
            pilot,
            lambda: app.model is not first_model and app.model.is_finished,
            "second run finished",
        )
        await wait_until(pilot, lambda: app.selected_id == "L3-2", "reselected")
        assert app.selected_id == "L3-2"
