"""Tests of runs that overlap the run on screen (two executors at once)."""

from __future__ import annotations

from grafo_core import events
from grafo_core.events import NodeState
from grafo_tui.app import GrafoApp
from grafo_tui.model import RunModel
from grafo_tui.pipeline_messages import ExecutorAttached
from tests.tui.test_app_messages import FakeRunner, drained

SHOWN = "run-b"
OTHER = "run-a"


def run_started(run_id: str, description: str, time: float) -> events.RunStarted:
    return events.RunStarted(run_id, None, time, description, ("n",), None)


def node_added(run_id: str, node_id: str, time: float) -> events.NodeAdded:
    return events.NodeAdded(
        run_id, node_id, time, node_id, "f", False, True, None, "", ""
    )


def other_run_node_events(time: float) -> list:
    """The node of the other run runs and succeeds; its run finishes."""
    return [
        events.NodeStarted(OTHER, "n", time, 1, {}),
        events.NodeSucceeded(OTHER, "n", time + 0.3, 0.3, 1, 0),
        events.RunFinished(OTHER, None, time + 0.3, 0, False),
    ]


def shown_model() -> RunModel:
    model = RunModel()
    model.apply(run_started(SHOWN, "beta", 10.0))
    model.apply(node_added(SHOWN, "n", 10.0))
    model.apply(events.NodeStarted(SHOWN, "n", 10.0, 1, {}))
    return model


def test_other_run_finish_leaves_model():
    model = shown_model()
    model.apply(events.RunFinished(OTHER, None, 10.3, 0, False))
    assert not model.is_finished
    assert model.running_count == 1
    assert model.run_id == SHOWN


def test_other_run_finish_line_names_it():
    model = shown_model()
    line = model.apply(events.RunFinished(OTHER, None, 10.3, 2, False))
    assert line is not None
    assert line.kind == "run"
    assert line.text == f"run {OTHER} finished, 2 errors"
    assert "beta" not in line.text


def test_other_run_node_events_dropped():
    model = shown_model()
    lines = [model.apply(event) for event in other_run_node_events(10.0)[:2]]
    assert lines == [None, None]
    node = model.nodes["n"]
    assert node.state is NodeState.RUNNING
    assert node.output_repr is None


def test_other_run_started_line_uses_its_description():
    model = shown_model()
    started_line = model.apply(run_started(OTHER, "alpha", 10.5))
    model.apply(node_added(OTHER, "m", 10.5))
    finished_line = model.apply(events.RunFinished(OTHER, None, 11.0, 0, True))
    assert started_line.text == f"run alpha ({OTHER}) started"
    assert finished_line.text == f"run alpha ({OTHER}) was stopped"
    assert finished_line.time == 0.5
    assert "m" not in model.nodes


def test_next_model_knows_running_run():
    first = RunModel()
    first.apply(run_started(OTHER, "alpha", 10.0))
    first.apply(node_added(OTHER, "n", 10.0))
    second = first.for_next_run()
    second.apply(run_started(SHOWN, "beta", 10.1))
    lines = [second.apply(event) for event in other_run_node_events(10.2)]
    assert lines[:2] == [None, None]
    assert lines[2].text == f"run alpha ({OTHER}) finished"
    assert second.run_id == SHOWN
    assert not second.is_finished


def test_next_model_drops_events_before_start():
    first = RunModel()
    first.apply(run_started(OTHER, "alpha", 10.0))
    second = first.for_next_run()
    assert second.apply(node_added(OTHER, "n", 10.0)) is None
    assert second.nodes == {}
    assert second.run_id == ""


def test_next_model_forgets_finished_runs():
    first = RunModel()
    first.apply(run_started(OTHER, "alpha", 10.0))
    first.apply(events.RunFinished(OTHER, None, 10.5, 0, False))
    assert first.for_next_run().other_runs == {}


async def test_screen_follows_last_run_only():
    items = [
        ExecutorAttached(None),
        run_started(OTHER, "alpha", 10.0),
        node_added(OTHER, "a_node", 10.0),
        ExecutorAttached(None),
        run_started(SHOWN, "beta", 10.0),
        node_added(SHOWN, "b_node", 10.0),
        events.NodeStarted(SHOWN, "b_node", 10.0, 1, {}),
        events.NodeStarted(OTHER, "a_node", 10.0, 1, {}),
        events.NodeSucceeded(OTHER, "a_node", 10.3, 0.3, 1, 0),
        events.RunFinished(OTHER, None, 10.3, 0, False),
    ]
    app = GrafoApp(FakeRunner(items), clock=lambda: 10.4)
    async with app.run_test() as pilot:
        await drained(app, pilot)
        assert app.model.run_id == SHOWN
        assert not app.model.is_finished
        assert list(app.task_tree.placements) == ["b_node"]
        run_lines = [line.text for line in app.chunk_log.lines if line.kind == "run"]
        assert run_lines[-1].startswith("run ")
        assert OTHER in run_lines[-1]
        assert "beta" not in run_lines[-1]
