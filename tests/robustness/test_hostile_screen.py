"""The screen with hostile content, long ids, a large tree, a tiny terminal,
and a pipeline that ends before the first frame."""

from __future__ import annotations

import pytest
from textual.widgets import TabbedContent

from grafo_core.events import NodeState
from tests.robustness.helpers import (
    details_text,
    has_link,
    make_app,
    screen_output,
    select,
    wait_until,
    widget_strips,
    widget_text,
)
from tests.robustness.pipelines import big_tree, hostile_text, long_ids

SIZE = (120, 40)

# What each hostile chunk looks like on screen: markup stays literal, and
# control characters are written as backslash escapes.
SHOWN_CHUNKS = [
    "[bold]not bold[/bold]",
    "[/]",
    "[link=https://example.invalid]not a link[/link]",
    "\\x1b[31mnot red\\x1b[0m",
    "bell\\x07 nul\\x00 back\\x08 cr\\r tab\\t",
    "wide 漢字 and e\u0301 combining",
]


@pytest.fixture
async def hostile_app():
    app = make_app("hostile_text.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await pilot.pause(0.1)
        yield app, pilot


async def test_chunk_log_stores_literal_text(hostile_app):
    app, _ = hostile_app
    chunks = [line.text for line in app.chunk_log.lines if line.kind == "chunk"]
    for shown in SHOWN_CHUNKS:
        assert shown in chunks


async def test_chunk_log_draws_literal_text(hostile_app):
    app, _ = hostile_app
    drawn = widget_text(app.chunk_log)
    for shown in SHOWN_CHUNKS[:4]:
        assert shown in drawn


async def test_chunk_log_draws_no_escape_character(hostile_app):
    app, _ = hostile_app
    assert "\x1b" not in widget_text(app.chunk_log)


async def test_chunk_log_draws_no_link(hostile_app):
    app, _ = hostile_app
    assert not has_link(app.chunk_log)


async def test_long_line_kept_whole(hostile_app):
    app, _ = hostile_app
    chunks = [line.text for line in app.chunk_log.lines if line.kind == "chunk"]
    assert hostile_text.LONG_LINE in chunks


async def test_long_line_not_wrapped(hostile_app):
    app, _ = hostile_app
    rows = [strip.text for strip in widget_strips(app.chunk_log)]
    long_rows = [row for row in rows if "xxxxxxxxxx" in row]
    assert len(long_rows) == 1


async def test_screen_has_no_hyperlink(hostile_app):
    app, _ = hostile_app
    _, raw = screen_output(app)
    assert "\x1b]8;" not in raw


async def test_screen_shows_markup_literally(hostile_app):
    app, _ = hostile_app
    text, _ = screen_output(app)
    assert "[bold]not bold[/bold]" in text
    assert "[b]hostile[/b]" in text


async def test_failed_error_shown_literally(hostile_app):
    app, pilot = hostile_app
    await select(pilot, "explode")
    text = details_text(app)
    assert "ValueError: [/] broken \\x1b[5m markup" in text


async def test_output_shown_literally(hostile_app):
    app, pilot = hostile_app
    await select(pilot, "answer")
    text = details_text(app)
    assert "'[bold]returned[/] \\x1b[2J'" in text


async def test_details_draw_no_escape_character(hostile_app):
    app, pilot = hostile_app
    await select(pilot, "answer")
    assert "\x1b" not in widget_text(app.details)


async def test_printed_markup_kept_literal(hostile_app):
    app, pilot = hostile_app
    app.query_one("#tabs", TabbedContent).active = "output-tab"
    await pilot.pause(0.1)
    text = widget_text(app.output_panel)
    assert "[link=https://example.invalid]not a link[/link]" in text


async def test_printed_text_draws_no_link(hostile_app):
    app, pilot = hostile_app
    app.query_one("#tabs", TabbedContent).active = "output-tab"
    await pilot.pause(0.1)
    assert not has_link(app.output_panel)


async def test_printed_escape_not_sent(hostile_app):
    app, pilot = hostile_app
    app.query_one("#tabs", TabbedContent).active = "output-tab"
    await pilot.pause(0.1)
    assert "\x1b" not in widget_text(app.output_panel)


async def test_hostile_label_escaped():
    app = make_app("hostile_text.py:hostile_label")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await pilot.pause(0.1)
        text = widget_text(app.task_tree) + widget_text(app.chunk_log)
        assert "\x1b" not in text


async def test_hostile_label_markup_literal():
    app = make_app("hostile_text.py:hostile_label")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await pilot.pause(0.1)
        assert "[red]node[/]" in widget_text(app.task_tree)


# --- long ids, a big tree ----------------------------------------------------------


async def test_long_ids_shown_and_selectable():
    app = make_app("long_ids.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        for node_id in long_ids.IDS:
            assert app.model.nodes[node_id].state is NodeState.SUCCEEDED
        await select(pilot, long_ids.IDS[2])
        assert long_ids.IDS[2] in details_text(app)
        text, _ = screen_output(app)
        assert long_ids.IDS[0][:40] in text


async def test_long_ids_log_lines():
    app = make_app("long_ids.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await pilot.pause(0.1)
        chunks = [line for line in app.chunk_log.lines if line.kind == "chunk"]
        assert [line.node_id for line in chunks] == [long_ids.IDS[1]] * 3
        rows = widget_text(app.chunk_log).splitlines()
        assert all(len(row) <= app.chunk_log.size.width for row in rows)


async def test_big_tree_runs_to_end():
    app = make_app("big_tree.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(
            pilot, lambda: app.model.is_finished, "run finished", attempts=1500
        )
        await pilot.pause(0.1)
        counts = app.model.counts()
        assert counts[NodeState.SUCCEEDED] == big_tree.NODE_COUNT
        assert len(app.model.nodes) == big_tree.NODE_COUNT
        # Past the first 1,000 lines, branches start collapsed; a jump opens one.
        assert "b99-98" not in app.task_tree.placements
        assert app.task_tree.move_to("b99-98")
        await pilot.pause(0.1)
        assert app.selected_id == "b99-98"
        await pilot.press("end")
        await pilot.press("h")
        await pilot.pause(0.1)
        assert app.is_running


# --- small and changing terminals ---------------------------------------------------


async def test_tiny_terminal_runs():
    app = make_app("hostile_text.py")
    async with app.run_test(size=(40, 12)) as pilot:
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await pilot.press("question_mark")
        await pilot.pause(0.05)
        await pilot.press("escape", "slash", "escape", "down", "tab")
        text, _ = screen_output(app)
        assert len(text.splitlines()) == 12
        assert app.is_running


async def test_resize_while_running():
    app = make_app("gated_stream.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(
            pilot, lambda: app.model.nodes.get("stream") is not None, "tree shown"
        )
        await wait_until(
            pilot,
            lambda: app.model.nodes["stream"].chunk_count > 2,
            "stream running",
        )
        for size in [(40, 12), (200, 60), (20, 5), (80, 24), (41, 13)]:
            await pilot.resize_terminal(*size)
            await pilot.pause(0.05)
            assert app.size == size
            text, _ = screen_output(app)
            assert len(text.splitlines()) == size[1]
        assert app.model.nodes["stream"].state is NodeState.RUNNING
        count = app.model.nodes["stream"].chunk_count
        await wait_until(
            pilot,
            lambda: app.model.nodes["stream"].chunk_count > count,
            "chunks after resizing",
        )
        await pilot.press("q", "y")
        await wait_until(pilot, lambda: app.runner.finished, "runner stopped")


# --- a pipeline that ends before the first frame ------------------------------------


async def test_instant_pipeline_shown():
    app = make_app("instant.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.pipeline_ended, "pipeline ended")
        await pilot.pause(0.1)
        assert app.model.is_finished
        assert app.model.nodes["quick"].state is NodeState.SUCCEEDED
        assert app.model.nodes["quick_stream"].chunk_count == 1
        text, _ = screen_output(app)
        assert "quick_stream" in text
        assert "finished" in text
