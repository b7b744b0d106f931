"""Snapshot tests of the screen, fed synthetic events by a fake runner.

The events carry fixed times and the app gets a fixed clock, so every
picture is the same on each run.
"""

from __future__ import annotations

from grafo_core import events
from grafo_tui.app import GrafoApp
from grafo_tui.pipeline_messages import ExecutorAttached, PipelineEnded

from .test_app_messages import FakeRunner

SIZE = (120, 36)
RUN = "demo"
T0 = 100.0


def node(node_id, *, root=False, generator=False):
    return events.NodeAdded(
        RUN, node_id, T0, node_id, node_id, generator, root, 60.0, "demo", ""
    )


def success(node_id, start, end, output, chunks=0):
    return [
        events.NodeQueued(RUN, node_id, start),
        events.NodeStarted(RUN, node_id, start, 1, {}),
        events.NodeSucceeded(RUN, node_id, end, end - start, output, chunks),
    ]


def graph():
    """fetch -> double -> join, fetch -> tokens -> join."""
    return [
        ExecutorAttached(None),
        events.RunStarted(RUN, None, T0, "snapshot demo", ("fetch",), None),
        node("fetch", root=True),
        node("double"),
        node("tokens", generator=True),
        node("join"),
        events.EdgeAdded(RUN, "double", T0, "fetch", "value"),
        events.EdgeAdded(RUN, "tokens", T0, "fetch", None),
        events.EdgeAdded(RUN, "join", T0, "double", None),
        events.EdgeAdded(RUN, "join", T0, "tokens", None),
    ]


def token_events():
    started = [
        events.NodeQueued(RUN, "tokens", T0 + 0.5),
        events.NodeStarted(RUN, "tokens", T0 + 0.5, 1, {}),
    ]
    values = ["Hello", ", ", "[red]world[/]", "\n!"]
    chunks = [
        events.ChunkEmitted(RUN, "tokens", T0 + 0.6 + i / 10, i, value)
        for i, value in enumerate(values)
    ]
    done = events.NodeSucceeded(RUN, "tokens", T0 + 1.1, 0.6, values, len(values))
    return [*started, *chunks, done]


def finished_run():
    return [
        *graph(),
        *success("fetch", T0, T0 + 0.5, 21),
        *success("double", T0 + 0.5, T0 + 0.75, 42),
        *token_events(),
        *success("join", T0 + 1.1, T0 + 1.2, "joined"),
        events.RunFinished(RUN, None, T0 + 1.2, 0, False),
        PipelineEnded(None, 0),
    ]


def failed_run():
    error = ValueError("row 2 has no 'id' column")
    return [
        *graph(),
        *success("fetch", T0, T0 + 0.5, 21),
        events.NodeQueued(RUN, "double", T0 + 0.5),
        events.NodeStarted(RUN, "double", T0 + 0.5, 1, {"value": 21}),
        events.NodeFailed(RUN, "double", T0 + 0.8, 0.3, error),
        *token_events(),
        events.NodeSkipped(RUN, "join", T0 + 1.1, "parent double failed"),
        events.RunFinished(RUN, None, T0 + 1.1, 1, False),
        PipelineEnded(None, 1),
    ]


def make_app(items) -> GrafoApp:
    runner = FakeRunner(items, module_doc="A demo pipeline for snapshots.")
    return GrafoApp(runner, clock=lambda: T0 + 5.0)


async def drain(pilot) -> None:
    pilot.app.drain_queue()
    await pilot.pause()


async def select_double(pilot) -> None:
    await drain(pilot)
    pilot.app.task_tree.move_to("double")
    await pilot.pause()


def test_finished_run(snap_compare):
    assert snap_compare(make_app(finished_run()), terminal_size=SIZE, run_before=drain)


def test_failed_node_selected(snap_compare):
    app = make_app(failed_run())
    assert snap_compare(app, terminal_size=SIZE, run_before=select_double)


def running_run():
    """fetch and double done, tokens and join still to run."""
    return [
        *graph(),
        *success("fetch", T0, T0 + 0.5, 21),
        *success("double", T0 + 0.5, T0 + 0.75, 42),
    ]


def test_add_node_form(snap_compare):
    # A node can be added only while the run is in progress.
    app = make_app(running_run())
    assert snap_compare(app, terminal_size=SIZE, run_before=select_double, press=["a"])


def test_help_legend(snap_compare):
    app = make_app(finished_run())
    assert snap_compare(app, terminal_size=SIZE, run_before=drain, press=["?"])
