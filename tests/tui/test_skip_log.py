"""Pilot tests of the Log's lines for skipped nodes, and of the errors of
failed nodes that the user removes from a held run."""

from __future__ import annotations

import pathlib

import pytest

from grafo_core import events
from grafo_core.events import NodeState
from grafo_tui.app import GrafoApp
from grafo_tui.loader import LoadSpec
from grafo_tui.model import LogLine
from grafo_tui.pipeline_messages import ExecutorAttached
from grafo_tui.runner import PipelineRunner
from grafo_tui.widgets.task_tree import STATE_MARKS

from .test_app import select, wait_until
from .test_app_messages import FakeRunner

SIZE = (140, 40)
RUN = "skips"

FAN_OUT = 6
"""Children of the failing root, and children of each of them."""

FAN_OUT_PIPELINE = f'''
"""load_data fails, so its {FAN_OUT} parse nodes and their stores never run."""

from grafo_core import Node, TreeExecutor


async def load():
    raise ValueError("the file has no rows")


async def step():
    return 1


async def build():
    root = Node(load, uuid="load_data")
    for index in range({FAN_OUT}):
        parse = Node(step, uuid=f"parse_{{index}}")
        await root.connect(parse)
        for number in range({FAN_OUT}):
            await parse.connect(Node(step, uuid=f"store_{{index}}_{{number}}"))
    return TreeExecutor(description="fan-out", roots=[root])
'''

FLAKY_PIPELINE = '''
"""flaky always fails, so report, which would get its output, never runs."""

from grafo_core import Node, TreeExecutor


async def flaky():
    raise ConnectionError("the service is down")


async def report(value):
    return f"got {value}"


async def build():
    root = Node(flaky, uuid="flaky")
    await root.connect(Node(report, uuid="report"), forward="value")
    return TreeExecutor(description="flaky", roots=[root])
'''


TWO_FAILURES_PIPELINE = '''
"""Two roots that always fail."""

from grafo_core import Node, TreeExecutor


async def flaky():
    raise ConnectionError("the service is down")


async def broken():
    raise KeyError("id")


async def build():
    roots = [Node(flaky, uuid="flaky"), Node(broken, uuid="broken")]
    return TreeExecutor(description="two failures", roots=roots, stop_on_error=False)
'''


def held_app(tmp_path: pathlib.Path, source: str) -> GrafoApp:
    """Return an app on `source` that keeps failed runs open, as the CLI does."""
    path = tmp_path / "pipeline.py"
    path.write_text(source)
    return GrafoApp(PipelineRunner(LoadSpec(path, None), hold_on_error=True))


def descendant_ids() -> set[str]:
    parses = {f"parse_{index}" for index in range(FAN_OUT)}
    stores = {
        f"store_{index}_{number}"
        for index in range(FAN_OUT)
        for number in range(FAN_OUT)
    }
    return parses | stores


def skip_lines(app: GrafoApp) -> list[LogLine]:
    """Return the Log's lines about skipped nodes, oldest first."""
    return [line for line in app.chunk_log.lines if line.kind == "skipped"]


def log_screen(app: GrafoApp) -> list[str]:
    """Return the rows of the Log as drawn, trailing blanks removed."""
    log = app.chunk_log
    rows = []
    for y in range(log.size.height):
        row = "".join(segment.text for segment in log.render_line(y))
        rows.append(row.rstrip())
    return rows


def details_text(app: GrafoApp) -> str:
    return str(app.details.query_one("Static").render())


async def held_after_failure(pilot) -> None:
    app = pilot.app
    await wait_until(pilot, lambda: app.model.held is not None, "run held")
    # The screen draws the Log at most every few drains.
    await pilot.pause(0.05)


# --- a failure skips its descendants ----------------------------------------------


async def test_failure_skips_in_one_line(tmp_path):
    app = held_app(tmp_path, FAN_OUT_PIPELINE)
    async with app.run_test(size=SIZE) as pilot:
        await held_after_failure(pilot)
        lines = skip_lines(app)
        assert len(lines) == 1
        line = lines[0]
        expected = descendant_ids()
        assert line.label == "load_data"
        assert line.cause_id == "load_data"
        assert line.text.startswith(f"skipped {len(expected)} descendants: ")
        assert line.text.endswith(f" and {len(expected) - 3} more")
        assert len(line.skipped_ids) == len(expected)
        assert set(line.skipped_ids) == expected


async def test_skip_line_drawn_after_failure(tmp_path):
    app = held_app(tmp_path, FAN_OUT_PIPELINE)
    async with app.run_test(size=SIZE) as pilot:
        await held_after_failure(pilot)
        rows = log_screen(app)
        failed = [i for i, row in enumerate(rows) if "failed: ValueError" in row]
        skipped = [i for i, row in enumerate(rows) if "skipped" in row]
        assert len(failed) == 1
        assert len(skipped) == 1
        assert skipped[0] == failed[0] + 1
        assert "load_data" in rows[skipped[0]]
        assert f"skipped {len(descendant_ids())} descendants" in rows[skipped[0]]


async def test_filtered_log_names_skipped_node(tmp_path):
    app = held_app(tmp_path, FAN_OUT_PIPELINE)
    async with app.run_test(size=SIZE) as pilot:
        await held_after_failure(pilot)
        # The last node skipped is not among the names the line shows.
        node_id = skip_lines(app)[0].skipped_ids[-1]
        assert node_id not in skip_lines(app)[0].text
        await select(pilot, node_id)
        await pilot.press("f")
        await pilot.pause()
        assert app.chunk_log.filter_id == node_id
        visible = app.chunk_log.visible_lines
        assert [line.kind for line in visible if line.kind != "run"] == ["skipped"]
        rows = [row for row in log_screen(app) if "skipped" in row]
        assert len(rows) == 1
        assert f"descendants: {node_id}, " in rows[0]


async def test_node_panel_keeps_skip_reason(tmp_path):
    app = held_app(tmp_path, FAN_OUT_PIPELINE)
    async with app.run_test(size=SIZE) as pilot:
        await held_after_failure(pilot)
        reason = "ancestor 'load_data' failed"
        for node_id in descendant_ids():
            assert app.model.nodes[node_id].end_reason == reason
        await select(pilot, f"store_{FAN_OUT - 1}_{FAN_OUT - 1}")
        assert reason in details_text(app)


# --- synthetic event streams ------------------------------------------------------


def chain_events(count: int) -> list:
    """Return the events that start a run where `a` is the parent of `b0`,
    `b1`, ... and `x` and `y` are other roots, up to `a` starting."""
    added = [
        events.NodeAdded(RUN, node_id, 0.0, node_id, "f", False, True, None, "", "")
        for node_id in ("a", "x", "y")
    ]
    children = [
        events.NodeAdded(
            RUN, f"b{i}", 0.0, f"b{i}", "f", False, False, None, "", "", ("a",)
        )
        for i in range(count)
    ]
    return [
        ExecutorAttached(None),
        events.RunStarted(RUN, None, 0.0, "skips", ("a", "x", "y"), None),
        *added,
        *children,
        events.NodeStarted(RUN, "a", 0.1, 1, {}),
    ]


def skips(ids, reason: str) -> list:
    return [events.NodeSkipped(RUN, node_id, 0.3, reason) for node_id in ids]


def fake_app(items) -> GrafoApp:
    return GrafoApp(FakeRunner(items), clock=lambda: 10.0)


async def drain(app: GrafoApp, pilot) -> None:
    app.drain_queue()
    await pilot.pause()


async def test_burst_split_across_drains():
    count = 10
    first = [f"b{i}" for i in range(4)]
    rest = [f"b{i}" for i in range(4, count)]
    items = [
        *chain_events(count),
        events.NodeFailed(RUN, "a", 0.3, 0.2, ValueError("bad")),
        *skips(first, "ancestor 'a' failed"),
    ]
    app = fake_app(items)
    async with app.run_test(size=SIZE) as pilot:
        await drain(app, pilot)
        assert len(skip_lines(app)) == 1
        for item in skips(rest, "ancestor 'a' failed"):
            app.runner.queue.put(item)
        await drain(app, pilot)
        lines = skip_lines(app)
        assert len(lines) == 1
        assert lines[0].skipped_ids == tuple(first + rest)
        assert lines[0].text.startswith(f"skipped {count} descendants: b0, b1, b2")


async def test_stopped_run_skips_in_own_line():
    items = [
        *chain_events(2),
        events.NodeFailed(RUN, "a", 0.3, 0.2, ValueError("bad")),
        *skips(["b0", "b1"], "ancestor 'a' failed"),
        *skips(["x", "y"], "the run stopped after 'a' failed"),
    ]
    app = fake_app(items)
    async with app.run_test(size=SIZE) as pilot:
        await drain(app, pilot)
        descendants, stopped = skip_lines(app)
        assert descendants.skipped_ids == ("b0", "b1")
        assert stopped.skipped_ids == ("x", "y")
        assert stopped.cause_id is None
        assert stopped.label == ""
        assert stopped.text == (
            "skipped 2 nodes (the run stopped after 'a' failed): x, y"
        )


async def test_skip_after_other_event_not_merged():
    items = [
        *chain_events(2),
        events.NodeFailed(RUN, "a", 0.3, 0.2, ValueError("bad")),
        *skips(["b0"], "ancestor 'a' failed"),
        events.NodeStarted(RUN, "x", 0.4, 1, {}),
        events.NodeSucceeded(RUN, "x", 0.5, 0.1, 1, 0),
        *skips(["b1"], "ancestor 'a' failed"),
    ]
    app = fake_app(items)
    async with app.run_test(size=SIZE) as pilot:
        await drain(app, pilot)
        first, second = skip_lines(app)
        assert first.text == "skipped 1 descendant: b0"
        # Not right after the failure, so the model names no cause.
        assert second.cause_id is None
        assert second.label == "b1"
        assert second.text == "skipped: ancestor 'a' failed"


async def test_skipped_ids_all_findable():
    count = 250
    ids = [f"b{i}" for i in range(count)]
    items = [
        *chain_events(count),
        events.NodeFailed(RUN, "a", 0.3, 0.2, ValueError("bad")),
        *skips(ids, "ancestor 'a' failed"),
    ]
    app = fake_app(items)
    async with app.run_test(size=SIZE) as pilot:
        await drain(app, pilot)
        (line,) = skip_lines(app)
        assert line.skipped_ids == tuple(ids)
        for node_id in ids:
            app.chunk_log.set_filter(node_id)
            assert line in app.chunk_log.visible_lines


# --- removing a failed node from a held run ---------------------------------------


def status_text(app: GrafoApp) -> str:
    return app.status_line.describe(app.model).plain


@pytest.mark.parametrize("button", ["single", "cascade"])
async def test_removed_failure_still_counted(tmp_path, button):
    app = held_app(tmp_path, FLAKY_PIPELINE)
    async with app.run_test(size=SIZE) as pilot:
        await held_after_failure(pilot)
        await select(pilot, "flaky")
        await pilot.press("d")
        await pilot.click(f"#{button}")
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        assert app.model.error_count == 1
        mark = STATE_MARKS[NodeState.FAILED]
        assert f"{mark} 1 failed (1 removed)" in status_text(app)
        texts = [line.text for line in app.chunk_log.lines]
        assert "removed while failed; its error still counts" in texts
        assert texts[-1].endswith("finished, 1 error, from a removed node")


async def test_removed_failure_counted_while_held(tmp_path):
    app = held_app(tmp_path, TWO_FAILURES_PIPELINE)
    async with app.run_test(size=SIZE) as pilot:
        await held_after_failure(pilot)
        mark = STATE_MARKS[NodeState.FAILED]
        assert f"{mark} 2 failed" in status_text(app)
        await select(pilot, "flaky")
        await pilot.press("d")
        # flaky has no children, so the dialog has one Remove button.
        await pilot.click("#cascade")
        await wait_until(pilot, lambda: "flaky" not in app.model.nodes, "removed")
        # broken still failed, so the run stays held.
        assert app.model.held is not None
        assert f"{mark} 2 failed (1 removed)" in status_text(app)

        await pilot.press("e")
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        assert f"{mark} 2 failed (1 removed)" in status_text(app)
        last = app.chunk_log.lines[-1].text
        assert last.endswith("finished, 2 errors, 1 from a removed node")


async def test_node_failing_twice_then_removed():
    items = [
        *chain_events(0),
        events.NodeFailed(RUN, "a", 0.2, 0.1, ValueError("first")),
        events.NodeReset(RUN, "a", 0.3, "retry of 'a'"),
        events.NodeStarted(RUN, "a", 0.3, 2, {}),
        events.NodeFailed(RUN, "a", 0.4, 0.1, ValueError("second")),
        events.NodeRemoved(RUN, "a", 0.5),
        events.RunFinished(RUN, None, 0.6, 2, False),
    ]
    app = fake_app(items)
    async with app.run_test(size=SIZE) as pilot:
        await drain(app, pilot)
        mark = STATE_MARKS[NodeState.FAILED]
        assert f"{mark} 1 failed (1 removed)" in status_text(app)
        last = app.chunk_log.lines[-1].text
        assert last.endswith("finished, 2 errors, from a removed node")
