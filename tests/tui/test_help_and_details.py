"""Tests of the help screen's legend, the README's legend and the Node panel's
reason rows."""

from __future__ import annotations

import io
import pathlib

from rich.console import Console
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll

from grafo_core import events
from grafo_core.events import NodeState
from grafo_tui.app import GrafoApp
from grafo_tui.model import RunModel
from grafo_tui.screens.help_screen import HelpScreen, help_legend
from grafo_tui.widgets.node_details import NodeDetails
from grafo_tui.widgets.task_tree import CYCLE_MARK, SPINNER, STATE_MARKS
from tests.tui.test_app_messages import FakeRunner

README = pathlib.Path(__file__).parents[2] / "README.md"
RUN = "run"


def plain(renderable, width: int = 66) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_help_legend_has_every_mark():
    text = plain(help_legend([]))
    for state, mark in STATE_MARKS.items():
        if state is not NodeState.RUNNING:
            assert mark in text, state
    assert SPINNER[:3] in text
    assert CYCLE_MARK in text


def test_help_legend_wraps_long_description():
    text = plain(help_legend([("tab", "Move focus between panels")]), width=40)
    assert "tab" in text
    assert "panels" in text


def test_readme_legend_has_cycle_mark():
    readme = README.read_text(encoding="utf-8")
    start = readme.index("Each node's mark reads without colour")
    legend = readme[start : readme.index("\n\n", start)]
    assert CYCLE_MARK in legend


async def test_help_shows_tab_without_scrolling():
    app = GrafoApp(FakeRunner([]))
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        dialog = app.screen.query_one("#dialog", VerticalScroll)
        # Everything in the dialog is on screen, the Tab row included.
        assert dialog.max_scroll_y == 0
        assert "tab" in [key for key, _ in app.screen.keys]


class DetailsApp(App[None]):
    def __init__(self, details: NodeDetails) -> None:
        super().__init__()
        self.details = details

    def compose(self) -> ComposeResult:
        yield self.details


def one_node_model() -> RunModel:
    model = RunModel()
    model.apply(events.RunStarted(RUN, None, 0.0, "", ("a",), None))
    model.apply(events.NodeAdded(RUN, "a", 0.0, "a", "f", False, True, None, "", ""))
    model.apply(events.NodeStarted(RUN, "a", 0.1, 1, {}))
    return model


async def shown_text(model: RunModel, node_id: str) -> str:
    details = NodeDetails(clock=lambda: 1.0)
    app = DetailsApp(details)
    async with app.run_test():
        details.show(model, node_id)
        return details._shown.plain


async def test_cancel_reason_shown_once():
    model = one_node_model()
    reason = "cancelled from grafo-tui"
    model.apply(events.NodeCancelled(RUN, "a", 0.5, 0.4, reason))
    text = await shown_text(model, "a")
    assert text.lower().count(reason) == 1


async def test_skip_reason_shown_once():
    model = RunModel()
    model.apply(events.RunStarted(RUN, None, 0.0, "", ("a",), None))
    model.apply(events.NodeAdded(RUN, "a", 0.0, "a", "f", False, True, None, "", ""))
    reason = "the run stopped after 'x' failed"
    model.apply(events.NodeSkipped(RUN, "a", 0.5, reason))
    text = await shown_text(model, "a")
    assert text.lower().count(reason) == 1


async def test_reset_reason_row_shown():
    model = one_node_model()
    model.apply(events.NodeCancelled(RUN, "a", 0.5, 0.4, "stop"))
    model.apply(events.NodeReset(RUN, "a", 0.6, "retry of 'a'"))
    text = await shown_text(model, "a")
    assert "reason      retry of 'a'" in text


async def test_missing_node_removed_during_run():
    model = one_node_model()
    details = NodeDetails(clock=lambda: 1.0)
    async with DetailsApp(details).run_test():
        details.show(model, "a")
        model.apply(events.NodeRemoved(RUN, "a", 0.5))
        details.show(model, "a")
        assert details._shown.plain == "Node a was removed during this run."


async def test_missing_node_not_in_next_run():
    details = NodeDetails(clock=lambda: 1.0)
    async with DetailsApp(details).run_test():
        details.show(one_node_model(), "a")
        next_model = RunModel()
        next_model.apply(events.RunStarted("next", None, 2.0, "", ("b",), None))
        details.show(next_model, "a")
        assert details._shown.plain == "Node a is not in this run's tree."
