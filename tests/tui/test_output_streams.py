"""The Output tab names the node behind each line and marks stderr lines."""

from __future__ import annotations

import pathlib

from textual.app import App, ComposeResult

from grafo_tui.app import GrafoApp
from grafo_tui.loader import LoadSpec
from grafo_tui.output_capture import OutputWritten
from grafo_tui.runner import PipelineRunner
from grafo_tui.widgets.output_panel import NODE_SEPARATOR, STDERR_MARK, OutputPanel

from .test_app import SIZE, wait_until

PIPELINES = pathlib.Path(__file__).parent / "pipelines"


class PanelApp(App[None]):
    def __init__(self, panel: OutputPanel) -> None:
        super().__init__()
        self.panel = panel

    def compose(self) -> ComposeResult:
        yield self.panel


def colours(panel: OutputPanel, y: int) -> set:
    """Return the text colours of the drawn row `y`, spaces left out."""
    return {
        segment.style.color
        for segment in panel.render_line(y)
        if segment.text.strip() and segment.style is not None
    }


async def test_stderr_lines_marked_and_coloured():
    panel = OutputPanel()
    async with PanelApp(panel).run_test(size=(60, 10)) as pilot:
        panel.write_output(
            [
                OutputWritten("loading rows\n", "stdout"),
                OutputWritten("row 2 is invalid\n", "stderr"),
                OutputWritten("! done\n", "stdout"),
            ]
        )
        await pilot.pause()
        error = panel.get_component_rich_style("output-panel--stderr").color
        assert panel.render_line(0).text.rstrip() == "loading rows"
        assert panel.render_line(1).text.rstrip() == f"{STDERR_MARK}row 2 is invalid"
        assert error not in colours(panel, 0)
        assert colours(panel, 1) == {error}
        # The colour follows the stream, not a line's text.
        assert error not in colours(panel, 2)


async def test_plain_text_counts_as_stdout():
    panel = OutputPanel()
    async with PanelApp(panel).run_test(size=(60, 10)) as pilot:
        panel.write_output(["hello ", "world\n"])
        await pilot.pause()
        assert list(panel.lines[:1]) == ["hello world"]
        assert not panel.is_stderr_line(0)


async def test_stream_switch_ends_open_line():
    panel = OutputPanel()
    async with PanelApp(panel).run_test(size=(60, 10)) as pilot:
        panel.write_output(
            [
                OutputWritten("Enter a name: ", "stdout"),
                OutputWritten("warning: no input\n", "stderr"),
            ]
        )
        panel.write_output([OutputWritten("more\n", "stderr")])
        await pilot.pause()
        assert list(panel.lines[:3]) == [
            "Enter a name: ",
            f"{STDERR_MARK}warning: no input",
            f"{STDERR_MARK}more",
        ]
        assert [panel.is_stderr_line(i) for i in range(3)] == [False, True, True]


async def test_stderr_rows_survive_dropped_lines():
    panel = OutputPanel(max_lines=5)
    async with PanelApp(panel).run_test(size=(60, 10)) as pilot:
        for index in range(12):
            stream = "stderr" if index % 3 == 0 else "stdout"
            panel.write_output([OutputWritten(f"line {index}\n", stream)])
        await pilot.pause()
        stored = panel.lines[: panel.line_count]
        assert stored[-1].endswith("line 11")
        for index, line in enumerate(stored):
            assert panel.is_stderr_line(index) == line.startswith(STDERR_MARK), line


async def test_app_output_names_the_node_and_marks_stderr():
    runner = PipelineRunner(LoadSpec(PIPELINES / "runner_prints.py", None))
    app = GrafoApp(runner)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: runner.finished, "the pipeline ended")
        await pilot.pause()
        lines = [line for line in app.output_panel.lines if line]
    assert lines == [
        f"talk{NODE_SEPARATOR}to stdout",
        f"{STDERR_MARK}talk{NODE_SEPARATOR}to stderr",
        f"talk{NODE_SEPARATOR}partial line",
    ]


async def test_open_line_ends_on_node_switch():
    panel = OutputPanel()
    async with PanelApp(panel).run_test(size=(60, 10)) as pilot:
        panel.write_output(
            [
                OutputWritten("A waits-", "stdout", "A"),
                OutputWritten("B line\n", "stdout", "B"),
                OutputWritten("A done\n", "stdout", "A"),
            ]
        )
        await pilot.pause()
        assert list(panel.lines[:3]) == [
            f"A{NODE_SEPARATOR}A waits-",
            f"B{NODE_SEPARATOR}B line",
            f"A{NODE_SEPARATOR}A done",
        ]
