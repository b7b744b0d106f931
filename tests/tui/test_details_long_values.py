"""The Node panel cuts long values to a few lines; the whole value stays
in the Log tab or in the traceback."""

from __future__ import annotations

from grafo_core import events
from grafo_tui.app import GrafoApp
from grafo_tui.pipeline_messages import PipelineEnded
from grafo_tui.widgets.node_details import ELLIPSIS, MAX_ROW_LINES

from ..robustness.helpers import widget_strips
from .test_app_messages import FakeRunner
from .test_snapshots import RUN, T0, graph, success

# The engine's repr of this output is cut at 120 characters, which is still
# several lines in a narrow panel.
LONG_OUTPUT = {f"column_{index}": "x" * 40 for index in range(6)}
LONG_MESSAGE = "row 2 is invalid: " + ", ".join(f"field_{i} missing" for i in range(20))


def long_values_run() -> list:
    error = ValueError(LONG_MESSAGE)
    return [
        *graph(),
        *success("fetch", T0, T0 + 0.5, LONG_OUTPUT),
        events.NodeQueued(RUN, "double", T0 + 0.5),
        events.NodeStarted(RUN, "double", T0 + 0.5, 1, {"value": 21}),
        events.NodeFailed(RUN, "double", T0 + 0.8, 0.3, error),
        events.RunFinished(RUN, None, T0 + 0.8, 1, False),
        PipelineEnded(None, 1),
    ]


async def drawn_details(node_id: str, size: tuple[int, int]):
    """Return the Node panel's drawn rows for `node_id`, the number of them
    in view, and the app."""
    app = GrafoApp(FakeRunner(long_values_run()), clock=lambda: T0 + 5.0)
    async with app.run_test(size=size) as pilot:
        app.drain_queue()
        await pilot.pause()
        app.task_tree.move_to(node_id)
        await pilot.pause()
        static = app.details.query_one("Static")
        rows = [strip.text.rstrip() for strip in widget_strips(static)]
        return rows, app.details.scrollable_content_region.height, app


def field_rows(rows: list[str], name: str, next_name: str) -> list[str]:
    """Return the drawn rows from the field `name` up to the field `next_name`."""
    start = next(i for i, row in enumerate(rows) if row.startswith(name))
    end = next(
        i for i, row in enumerate(rows) if i > start and row.startswith(next_name)
    )
    return rows[start:end]


async def test_long_output_cut_to_bounded_rows():
    for size in [(80, 24), (100, 30), (140, 40)]:
        rows, _, _ = await drawn_details("fetch", size)
        output = field_rows(rows, "output", "runs")
        # The last row is the hint when the value was cut.
        assert len(output) <= MAX_ROW_LINES + 1, (size, output)
        if len(output) > 1 and "the Log tab" in output[-1]:
            assert output[-2].endswith(f"{ELLIPSIS}  (dict)"), (size, output)
        else:
            assert output[-1].endswith("(dict)"), (size, output)


async def test_narrow_output_cut_names_log_tab():
    rows, _, _ = await drawn_details("fetch", (80, 24))
    output = field_rows(rows, "output", "runs")
    assert output[-2].endswith(f"{ELLIPSIS}  (dict)")
    assert "full value in the Log tab" in output[-1]


async def test_rows_after_long_output_in_view():
    rows, height, _ = await drawn_details("fetch", (100, 40))
    visible = rows[:height]
    assert any(row.startswith("duration") for row in visible), rows


async def test_log_keeps_whole_output():
    _, _, app = await drawn_details("fetch", (80, 24))
    output = app.model.nodes["fetch"].output_repr
    results = [line.text for line in app.chunk_log.lines if line.node_id == "fetch"]
    assert f"-> {output}" in results


async def test_long_error_cut_traceback_whole():
    rows, _, _ = await drawn_details("double", (100, 30))
    error = field_rows(rows, "error", "parents")
    assert len(error) == MAX_ROW_LINES + 1
    assert error[-2].endswith(ELLIPSIS)
    assert "full message in traceback" in error[-1]
    traceback = " ".join(rows[rows.index("traceback") :])
    assert "field_19 missing" in traceback
