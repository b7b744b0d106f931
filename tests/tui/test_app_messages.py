"""Tests of how the app handles the runner's messages, with a scripted runner."""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future

from grafo_core import events
from grafo_tui.app import GrafoApp
from grafo_tui.output_capture import OutputWritten
from grafo_tui.pipeline_messages import ExecutorAttached, Notice, PipelineEnded
from grafo_tui.widgets.task_tree import TaskTree


async def fetch():
    return 21


async def double(value):
    return value * 2


class FakeRunner:
    """The runner interface, replaying a fixed list of queue items on start."""

    def __init__(self, items, *, module_doc: str | None = None) -> None:
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.items = items
        self.module_doc = module_doc
        self.functions = {"fetch": fetch, "double": double}
        self.entry_point = None
        self.executor = None
        self.loop = None
        self.finished = False
        self.tree_sent = threading.Event()

    def start(self) -> None:
        self.executor = object()
        for item in self.items:
            self.queue.put(item)
        self.finished = any(isinstance(item, PipelineEnded) for item in self.items)
        self.tree_sent.set()

    def submit(self, fn) -> Future:
        future: Future = Future()
        future.set_exception(RuntimeError("the fake runner runs no commands"))
        return future

    def rerun(self) -> None:
        pass

    def stop(self, timeout: float = 5.0) -> None:
        self.finished = True


def one_node_run(run_id: str, time: float) -> list:
    return [
        ExecutorAttached(None),
        events.RunStarted(run_id, None, time, "", ("a",), None),
        events.NodeAdded(run_id, "a", time, "a", "f", True, True, None, "", ""),
        events.NodeStarted(run_id, "a", time, 1, {}),
        events.ChunkEmitted(run_id, "a", time + 0.1, 0, f"{run_id} chunk"),
        events.NodeSucceeded(run_id, "a", time + 0.2, 0.2, [1], 1),
        events.RunFinished(run_id, None, time + 0.2, 0, False),
    ]


async def drained(app: GrafoApp, pilot) -> None:
    app.drain_queue()
    await pilot.pause()


async def test_new_run_resets_model_keeps_log():
    items = [*one_node_run("first", 1.0), *one_node_run("second", 5.0)]
    app = GrafoApp(FakeRunner(items), clock=lambda: 10.0)
    async with app.run_test() as pilot:
        await drained(app, pilot)
        assert app.model.run_id == "second"
        chunks = [line.text for line in app.chunk_log.lines if line.kind == "chunk"]
        assert chunks == ["first chunk", "second chunk"]
        assert list(app.task_tree.placements) == ["a"]


async def test_output_written_reaches_panel():
    items = [OutputWritten("hello ", "stdout"), OutputWritten("world\n", "stdout")]
    app = GrafoApp(FakeRunner(items), clock=lambda: 10.0)
    async with app.run_test() as pilot:
        await drained(app, pilot)
        assert app.output_panel.lines[0] == "hello world"


async def test_notice_shown_once():
    items = [Notice("grafo is grafo_core here"), Notice("grafo is grafo_core here")]
    app = GrafoApp(FakeRunner(items), clock=lambda: 10.0)
    async with app.run_test() as pilot:
        await drained(app, pilot)
        messages = [n.message for n in app._notifications]
        assert messages == ["grafo is grafo_core here"]


async def test_pipeline_error_exits_with_message():
    app = GrafoApp(FakeRunner([PipelineEnded("the file failed", 0)]))
    async with app.run_test() as pilot:
        await drained(app, pilot)
    assert app.return_code == 2


async def test_command_failure_notified():
    app = GrafoApp(FakeRunner(one_node_run("only", 1.0)[:4]), clock=lambda: 10.0)
    async with app.run_test() as pilot:
        await drained(app, pilot)
        await pilot.press("c")
        await app.workers.wait_for_complete()
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert messages == ["Could not cancel a: the fake runner runs no commands"]


async def test_palette_lists_screen_commands():
    app = GrafoApp(FakeRunner([]))
    async with app.run_test():
        commands = list(app.get_system_commands(app.screen))
        titles = [command.title for command in commands]
        assert "Pause" in titles
        assert "Add" in titles
        helps = {command.title: command.help for command in commands}
        assert helps["Help"] == "Help: the legend of state marks and every key (key ?)"
        # Every entry for the app's own keys describes its action.
        assert all(not help_text.startswith(" (key") for help_text in helps.values())


async def test_tree_widget_in_app():
    app = GrafoApp(FakeRunner(one_node_run("only", 1.0)), clock=lambda: 10.0)
    async with app.run_test() as pilot:
        await drained(app, pilot)
        assert isinstance(app.query_one("#tree"), TaskTree)
        assert app.selected_id == "a"


async def test_clock_moves_while_paused_with_nothing_running():
    now = [1.0]
    items = [
        ExecutorAttached(None),
        events.RunStarted("paused", None, 1.0, "", ("a",), None),
        events.RunPaused("paused", None, 1.0, "paused by the caller"),
        events.NodeAdded("paused", "a", 1.0, "a", "f", False, True, None, "", ""),
        events.NodeQueued("paused", "a", 1.0),
    ]
    app = GrafoApp(FakeRunner(items), clock=lambda: now[0])
    async with app.run_test() as pilot:
        await drained(app, pilot)
        assert "0.00s" in str(app.status_line.render())
        now[0] = 8.0
        for _ in range(20):
            await pilot.pause(0.05)
            if "7.00s" in str(app.status_line.render()):
                break
        assert "7.00s" in str(app.status_line.render())
