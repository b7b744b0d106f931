"""Tests of the screen's widgets and forms, each on its own small app."""

from __future__ import annotations

from textual.app import App, ComposeResult

from grafo_core import events
from grafo_core.events import NodeState
from grafo_tui.builtin_nodes import BUILTINS, fail, sleep
from grafo_tui.model import LogLine, RunModel
from grafo_tui.screens.add_node_screen import AUTO, parse_add_form, suggest_node_id
from grafo_tui.screens.remove_node_screen import describe_removal
from grafo_tui.widgets.chunk_log import ChunkLog
from grafo_tui.widgets.task_tree import (
    AUTO_EXPANDED_LINES,
    CYCLE_MARK,
    STATE_MARKS,
    TaskTree,
)

RUN = "run"


class WidgetApp(App[None]):
    def __init__(self, widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


def lines(count: int, start: int = 0) -> list[LogLine]:
    return [
        LogLine(float(i), f"n{i % 2}", f"n{i % 2}", f"line {i}", "chunk")
        for i in range(start, start + count)
    ]


def model_of(*edges, roots=("a",)) -> RunModel:
    model = RunModel()
    model.apply(events.RunStarted(RUN, None, 0.0, "", tuple(roots), None))
    ids = list(dict.fromkeys([*roots, *(i for pair in edges for i in pair)]))
    for node_id in ids:
        root = node_id in roots
        added = events.NodeAdded(
            RUN, node_id, 0.0, node_id, "f", False, root, None, "", ""
        )
        model.apply(added)
    for parent_id, child_id in edges:
        model.apply(events.EdgeAdded(RUN, child_id, 0.0, parent_id, None))
    return model


def finish(model: RunModel, node_id: str) -> None:
    model.apply(events.NodeStarted(RUN, node_id, 0.0, 1, {}))
    model.apply(events.NodeSucceeded(RUN, node_id, 1.0, 1.0, None, 0))


async def test_chunk_log_keeps_newest_lines():
    log = ChunkLog(max_lines=100)
    async with WidgetApp(log).run_test(size=(60, 10)) as pilot:
        log.write_lines(lines(250))
        await pilot.pause()
        assert len(log.lines) == 100
        assert log.lines[0].text == "line 150"
        assert log.dropped == 150


async def test_chunk_log_follows_tail():
    log = ChunkLog()
    async with WidgetApp(log).run_test(size=(60, 10)) as pilot:
        for batch in range(4):
            log.write_lines(lines(10, start=batch * 10))
            await pilot.pause()
        assert log.scroll_y == log.max_scroll_y
        assert log.max_scroll_y > 0


async def test_chunk_log_stays_when_scrolled_up():
    log = ChunkLog()
    async with WidgetApp(log).run_test(size=(60, 10)) as pilot:
        log.write_lines(lines(40))
        await pilot.pause()
        log.scroll_to(y=3, animate=False, immediate=True)
        log.write_lines(lines(10, start=40))
        await pilot.pause()
        assert log.scroll_y == 3


async def test_chunk_log_filter_by_node():
    log = ChunkLog()
    async with WidgetApp(log).run_test(size=(60, 10)) as pilot:
        log.write_lines(lines(10))
        log.set_filter("n1")
        log.write_lines(lines(4, start=10))
        await pilot.pause()
        assert {line.node_id for line in log.visible_lines} == {"n1"}
        assert len(log.visible_lines) == 7


async def test_chunk_log_filter_keeps_run_lines():
    log = ChunkLog()
    run_line = LogLine(5.0, None, "", "run demo started", "run")
    async with WidgetApp(log).run_test(size=(60, 10)) as pilot:
        log.write_lines([*lines(4), run_line, *lines(4)])
        log.set_filter("n1")
        await pilot.pause()
        texts = [line.text for line in log.visible_lines]
        assert texts == ["line 1", "line 3", "run demo started", "line 1", "line 3"]


async def test_chunk_log_shows_markup_literally():
    log = ChunkLog()
    async with WidgetApp(log).run_test(size=(60, 10)) as pilot:
        log.write_lines([LogLine(0.0, "n", "n", "[bold]x[/] [/oops]", "chunk")])
        await pilot.pause()
        assert "[bold]x[/] [/oops]" in log.render_line(0).text


async def test_tree_places_shared_child_under_each_parent():
    tree = TaskTree()
    async with WidgetApp(tree).run_test() as pilot:
        tree.show_model(model_of(("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")))
        await pilot.pause()
        assert len(tree.placements["d"]) == 2
        data = {id(placement.data) for placement in tree.placements["d"]}
        assert len(data) == 1


async def test_big_tree_opens_collapsed_past_the_line_budget():
    # 30 middle nodes with 50 children each: 1,500 lines under them.
    middles = [f"m{i}" for i in range(30)]
    edges = [("a", m) for m in middles]
    edges += [(m, f"{m}-{j}") for m in middles for j in range(50)]
    tree = TaskTree()
    async with WidgetApp(tree).run_test() as pilot:
        tree.show_model(model_of(*edges))
        await pilot.pause()
        opened = [m for m in middles if tree.placements[m][0].is_expanded]
        assert 0 < len(opened) < len(middles)
        assert len(opened) * 50 <= AUTO_EXPANDED_LINES + 50
        # A collapsed node's children have no lines until it opens; jumping
        # to one opens the way.
        assert "m29" in tree.placements
        assert "m29-49" not in tree.placements
        assert tree.move_to("m29-49")
        await pilot.pause()
        assert tree.placements["m29"][0].is_expanded
        assert tree.selected_id == "m29-49"
        # Expanding by hand draws the children too.
        tree.placements["m28"][0].expand()
        await pilot.pause()
        assert len(tree.placements["m28-0"]) == 1


async def test_hide_twice_reopens_big_tree():
    middles = [f"m{i}" for i in range(30)]
    edges = [("a", m) for m in middles]
    edges += [(m, f"{m}-{j}") for m in middles for j in range(50)]
    model = model_of(*edges)
    for node_id in list(model.nodes):
        finish(model, node_id)
    tree = TaskTree()
    async with WidgetApp(tree).run_test() as pilot:
        tree.show_model(model)
        await pilot.pause()
        opened_before = [m for m in middles if tree.placements[m][0].is_expanded]
        tree.set_hide_finished(True)
        await pilot.pause()
        assert "a" not in tree.placements
        tree.set_hide_finished(False)
        await pilot.pause()
        opened = [m for m in middles if tree.placements[m][0].is_expanded]
        assert tree.placements["a"][0].is_expanded
        assert opened == opened_before


async def test_shared_subtree_moves_to_the_first_open_parent():
    # b and c share d; its subtree (e) is drawn under the first of them.
    tree = TaskTree()
    async with WidgetApp(tree).run_test() as pilot:
        model = model_of(("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", "e"))
        tree.show_model(model)
        await pilot.pause()
        assert tree.placements["e"][0].parent.parent.data.node_id == "b"
        tree.placements["b"][0].collapse()
        tree.update(force_layout=True)
        await pilot.pause()
        assert [p.parent.data.node_id for p in tree.placements["d"]] == ["c"]
        assert tree.placements["e"][0].parent.parent.data.node_id == "c"
        tree.placements["a"][0].collapse()
        tree.update(force_layout=True)
        await pilot.pause()
        assert "e" not in tree.placements
        assert tree.move_to("e")
        await pilot.pause()
        assert tree.selected_id == "e"


async def test_tree_cycle_drawn_as_leaf():
    tree = TaskTree()
    async with WidgetApp(tree).run_test() as pilot:
        tree.show_model(model_of(("a", "b"), ("b", "a")))
        await pilot.pause()
        assert len(tree.placements["a"]) == 2
        leaf = tree.placements["a"][1]
        assert CYCLE_MARK in tree.node_text(leaf).plain
        assert not leaf.children


async def test_tree_removes_and_adds_nodes():
    tree = TaskTree()
    model = model_of(("a", "b"), ("b", "c"))
    async with WidgetApp(tree).run_test() as pilot:
        tree.show_model(model)
        model.apply(events.EdgeRemoved(RUN, "c", 1.0, "b"))
        model.apply(events.NodeRemoved(RUN, "c", 1.0))
        model.apply(
            events.NodeAdded(RUN, "e", 1.0, "e", "f", False, False, None, "", "")
        )
        model.apply(events.EdgeAdded(RUN, "e", 1.0, "a", None))
        tree.update()
        await pilot.pause()
        assert "c" not in tree.placements
        assert tree.placements["e"][0].parent is tree.placements["a"][0]


async def test_tree_keeps_cursor_on_node_when_lines_added():
    tree = TaskTree()
    model = model_of(("a", "b"), ("a", "c"))
    async with WidgetApp(tree).run_test() as pilot:
        tree.show_model(model)
        tree.move_to("c")
        await pilot.pause()
        model.apply(
            events.NodeAdded(RUN, "x", 1.0, "x", "f", False, False, None, "", "")
        )
        model.apply(events.EdgeAdded(RUN, "x", 1.0, "b", None))
        tree.update()
        await pilot.pause()
        assert tree.selected_id == "c"


async def test_tree_hides_finished_subtrees():
    tree = TaskTree()
    model = model_of(("a", "b"), ("a", "c"))
    async with WidgetApp(tree).run_test() as pilot:
        tree.show_model(model)
        finish(model, "a")
        finish(model, "b")
        tree.hide_finished = True
        tree.update()
        await pilot.pause()
        assert "b" not in tree.placements
        assert "a" in tree.placements
        assert tree.node_text(tree.placements["a"][0]).plain.startswith(
            STATE_MARKS[NodeState.SUCCEEDED]
        )


async def test_hide_finished_keeps_failures():
    tree = TaskTree()
    model = model_of(("a", "b"), ("a", "c"), ("c", "d"))
    async with WidgetApp(tree).run_test() as pilot:
        tree.show_model(model)
        finish(model, "a")
        finish(model, "b")
        model.apply(events.NodeStarted(RUN, "c", 0.0, 1, {}))
        model.apply(events.NodeFailed(RUN, "c", 1.0, 1.0, ValueError("bad")))
        model.apply(events.NodeSkipped(RUN, "d", 1.0, "ancestor 'c' failed"))
        tree.set_hide_finished(True)
        await pilot.pause()
        assert set(tree.placements) == {"a", "c"}
        assert tree.border_subtitle == "2 hidden, h shows them"
        tree.set_hide_finished(False)
        await pilot.pause()
        assert tree.border_subtitle == ""


def form(**changes):
    fields = dict(
        node_id="new",
        taken_ids={"a"},
        function=sleep,
        kwargs_text="{'seconds': 0.5}",
        forward_text="",
        timeout_text="60",
    )
    fields.update(changes)
    return parse_add_form(**fields)


def test_form_valid_entries():
    request, errors = form()
    assert errors == {}
    assert request.kwargs == {"seconds": 0.5}
    assert request.timeout == 60.0
    assert request.forward is None


def test_form_rejects_taken_id():
    request, errors = form(node_id="a")
    assert request is None
    assert "node-id" in errors


def test_form_rejects_non_literal_kwargs():
    request, errors = form(kwargs_text="{'x': print('hi')}")
    assert request is None
    assert "kwargs" in errors


def test_form_rejects_list_kwargs():
    _, errors = form(kwargs_text="[1, 2]")
    assert "kwargs" in errors


def test_form_rejects_unknown_forward_parameter():
    _, errors = form(forward_text="missing", kwargs_text="{}")
    assert "forward" in errors


def test_form_rejects_forward_already_in_kwargs():
    _, errors = form(forward_text="seconds")
    assert "forward" in errors


def test_form_accepts_auto_and_no_timeout():
    request, _ = form(forward_text="AUTO", kwargs_text="{}", timeout_text="")
    assert request.forward == AUTO
    assert request.timeout is None


def test_form_rejects_negative_timeout():
    _, errors = form(timeout_text="-1")
    assert "timeout" in errors


def test_suggested_id_is_free():
    assert suggest_node_id("sleep", {"sleep-1", "sleep-2"}) == "sleep-3"


def test_removal_description_counts_orphans():
    model = model_of(("a", "b"), ("b", "c"), ("a", "d"), ("d", "e"), ("b", "e"))
    model.apply(events.NodeStarted(RUN, "b", 0.0, 1, {}))
    text = describe_removal(model, "b")
    assert "cancelled first" in text
    assert "1 descendant has no other way from a root" in text
    assert "c" in text


def test_removal_names_lost_arguments():
    model = model_of(("a", "b"), ("c", "b"), roots=("a", "c"))
    model.apply(events.EdgeAdded(RUN, "b", 0.0, "a", "stock"))
    text = describe_removal(model, "a")
    assert "b takes its 'stock' argument from a" in text
    assert "No descendant depends on it alone" not in text
    finish(model, "a")
    assert "argument" not in describe_removal(model, "a")


def test_builtins_listed():
    assert set(BUILTINS) == {"sleep", "stream", "fail"}


async def test_builtin_fail_raises_message():
    try:
        await fail("bad row")
    except RuntimeError as error:
        assert str(error) == "bad row"
    else:
        raise AssertionError("fail() returned")


async def test_builtin_stream_yields_count():
    values = [value async for value in BUILTINS["stream"](count=3, interval=0)]
    assert values == [0, 1, 2]


def test_form_rejects_unknown_kwarg():
    request, errors = form(kwargs_text="{'bogus': 1}")
    assert request is None
    assert "'bogus'" in errors["kwargs"]
    assert "seconds" in errors["kwargs"]


async def test_mount_safe_select_retries_label(monkeypatch):
    from textual.app import App
    from textual.css.query import NoMatches
    from textual.widgets._select import SelectCurrent

    from grafo_tui.widgets.mount_safe_select import MountSafeSelect

    original = SelectCurrent.update
    failures = []

    def update_once_too_early(self, label):
        if not failures:
            failures.append(label)
            raise NoMatches("label not composed yet")
        original(self, label)

    monkeypatch.setattr(SelectCurrent, "update", update_once_too_early)

    class Holder(App[None]):
        def compose(self):
            yield MountSafeSelect([("one", 1), ("two", 2)], value=2, allow_blank=False)

    app = Holder()
    async with app.run_test() as pilot:
        await pilot.pause(0.1)
        select = app.query_one(MountSafeSelect)
        assert len(failures) == 1
        assert select.value == 2
        label = select.query_one(SelectCurrent).query_one("#label")
        assert "two" in str(label.render())


async def needs_value(value):
    return value


def test_form_rejects_missing_required_kwarg():
    request, errors = form(function=needs_value, kwargs_text="{}")
    assert request is None
    assert "'value'" in errors["kwargs"]


def test_form_accepts_forwarded_required_kwarg():
    request, errors = form(function=needs_value, kwargs_text="{}", forward_text="AUTO")
    assert errors == {}
    assert request.forward == "AUTO"


async def test_selection_is_cleared_with_the_previous_tree():
    tree = TaskTree()
    model = model_of(("a", "b"))
    async with WidgetApp(tree).run_test() as pilot:
        tree.show_model(model)
        await pilot.pause()
        tree.move_cursor(tree.placements["b"][0])
        assert tree.selected_id == "b"
        tree.show_model(model_of(("x", "y")))
        assert tree.selected_id is None


def test_removal_wording_for_mixed_states():
    children = [("x", f"c{number}") for number in range(1, 7)]
    model = model_of(("a", "x"), *children)
    text = describe_removal(model, "x")
    assert "6 descendants have no other way from a root" in text
    assert "so they never start." in text

    finish(model, "c1")  # succeeded
    model.apply(events.NodeQueued(RUN, "c2", 0.0))
    model.apply(events.NodeStarted(RUN, "c3", 0.0, 1, {}))  # running
    text = describe_removal(model, "x")
    assert "6 descendants have no other way from a root" in text
    assert "c1, c2, c3 are queued, running or finished already." in text
    assert "started already" not in text

    for name in ("c2", "c3", "c4", "c5", "c6"):
        finish(model, name)
    text = describe_removal(model, "x")
    assert "6 descendants have" in text
    assert "none of them is waiting" in text
    assert "(c1, c2, c3, c4 and 2 more)" in text
