"""Cleanup and error reports: generators stopped mid-stream, hooks that raise,
and node results that are hard to show."""

from __future__ import annotations

import asyncio
import io
import pathlib
import time

import pytest

from grafo_core import Node, NodeState, TreeExecutor, events
from grafo_tui.headless import describe_error, run_headless
from grafo_tui.loader import LoadSpec
from grafo_tui.pipeline_messages import Notice, PipelineEnded
from grafo_tui.runner import PipelineRunner
from tests.robustness.helpers import (
    PIPELINES,
    Recorder,
    details_text,
    make_app,
    select,
    wait_until,
)

# --- async generators stopped mid-stream -----------------------------------------


class StreamProbe:
    """An async generator function that records how far it got and its cleanup."""

    def __init__(self) -> None:
        self.yielded = 0
        self.cleanup: list[str] = []
        self.started = asyncio.Event()

    async def stream(self):
        try:
            try:
                while True:
                    self.yielded += 1
                    yield self.yielded
                    if self.yielded == 3:
                        self.started.set()
                    await asyncio.sleep(0.01)
            finally:
                # An await inside finally must also run to its end.
                await asyncio.sleep(0)
                self.cleanup.append("inner")
        finally:
            self.cleanup.append("outer")


async def test_cancelled_generator_runs_finally():
    probe = StreamProbe()
    node = Node(probe.stream, uuid="stream", timeout=None)
    executor = TreeExecutor(roots=[node])
    recorder = Recorder(executor)
    run = asyncio.create_task(executor.run())
    await asyncio.wait_for(probe.started.wait(), 5)
    executor.cancel("stream", reason="test cancel")
    await asyncio.wait_for(run, 5)

    assert probe.cleanup == ["inner", "outer"]
    assert recorder.final_states()["stream"] is NodeState.CANCELLED


async def test_timed_out_generator_runs_finally():
    probe = StreamProbe()
    node = Node(probe.stream, uuid="stream", timeout=0.05)
    executor = TreeExecutor(roots=[node])
    recorder = Recorder(executor)
    await asyncio.wait_for(executor.run(), 5)

    assert probe.cleanup == ["inner", "outer"]
    assert recorder.final_states()["stream"] is NodeState.TIMED_OUT
    assert probe.yielded >= 3


async def test_removed_generator_runs_finally():
    probe = StreamProbe()
    node = Node(probe.stream, uuid="stream", timeout=None)
    executor = TreeExecutor(roots=[node])
    run = asyncio.create_task(executor.run())
    await asyncio.wait_for(probe.started.wait(), 5)
    removed = await executor.remove("stream")
    await asyncio.wait_for(run, 5)

    assert removed == ["stream"]
    assert probe.cleanup == ["inner", "outer"]


async def test_run_task_cancelled_mid_stream():
    probe = StreamProbe()
    node = Node(probe.stream, uuid="stream", timeout=None)
    executor = TreeExecutor(roots=[node])
    recorder = Recorder(executor)
    run = asyncio.create_task(executor.run())
    await asyncio.wait_for(probe.started.wait(), 5)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run

    assert probe.cleanup == ["inner", "outer"]
    finished = recorder.of(events.RunFinished)
    assert len(finished) == 1
    assert finished[0].cancelled is True


async def test_yielding_left_early_runs_finally():
    probe = StreamProbe()
    node = Node(probe.stream, uuid="stream", timeout=None)
    executor = TreeExecutor(roots=[node])
    consumer = executor.yielding()
    received = [await consumer.__anext__() for _ in range(3)]
    await consumer.aclose()

    assert [chunk.output for chunk in received] == [1, 2, 3]
    assert probe.cleanup == ["inner", "outer"]
    assert not executor.is_running


async def test_stop_tree_runs_finally():
    probe = StreamProbe()
    node = Node(probe.stream, uuid="stream", timeout=None)
    executor = TreeExecutor(roots=[node])
    run = asyncio.create_task(executor.run())
    await asyncio.wait_for(probe.started.wait(), 5)
    await executor.stop_tree()
    await asyncio.wait_for(run, 5)

    assert probe.cleanup == ["inner", "outer"]


def test_runner_stop_closes_gated_stream():
    runner = PipelineRunner(LoadSpec(PIPELINES / "gated_stream.py", None))
    runner.start()
    try:
        stream = None
        for _ in range(250):
            stream = runner.functions.get("stream")
            if stream is not None and stream.__globals__["STARTED"].wait(0.02):
                break
            time.sleep(0.02)
        assert stream is not None
        runner.stop()
        assert stream.__globals__["CLOSED"] == ["stream"]
    finally:
        runner.stop()


# --- hooks and lambdas that raise ------------------------------------------------

HOOK_CASES = [
    ("before", "raised by on_before_run of node 'before'"),
    ("after", "raised by on_after_run of node 'after'"),
    ("lambda", "raised by the lambda for 'value' in kwargs of node 'lambda'"),
    ("forward", "raised by on_before_forward of the edge 'forward' -> 'child'"),
    ("hook_lambda", "raised by the lambda for 'amount' in on_before_run's kwargs"),
]


@pytest.fixture(scope="module")
def hook_failures() -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_headless(
        LoadSpec(PIPELINES / "raising_hooks.py", None), out=out, err=err
    )
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(("node_id", "note"), HOOK_CASES)
async def test_hook_error_fails_node_with_note(node_id, note):
    from tests.robustness.pipelines import raising_hooks

    executor = await raising_hooks.build()
    recorder = Recorder(executor)
    await asyncio.wait_for(executor.run(), 5)
    failed = recorder.of(events.NodeFailed, node_id)

    assert len(failed) == 1
    assert "exploded" in str(failed[0].error)
    assert any(note in text for text in failed[0].error.__notes__)


@pytest.mark.parametrize(("node_id", "note"), HOOK_CASES)
def test_hook_note_in_headless_output(hook_failures, node_id, note):
    _, out, _ = hook_failures
    failed_lines = [line for line in out.splitlines() if "NodeFailed" in line]
    matching = [line for line in failed_lines if line.split()[1] == node_id]

    assert len(matching) == 1
    assert note in matching[0]


def test_hook_failures_exit_status(hook_failures):
    code, _, err = hook_failures
    assert code == 1
    assert err == ""


def test_other_nodes_run_despite_hooks(hook_failures):
    _, out, _ = hook_failures
    assert "healthy  " in out
    healthy = [line for line in out.splitlines() if line.split()[1:2] == ["healthy"]]
    assert any("NodeSucceeded" in line for line in healthy)


@pytest.mark.parametrize(("node_id", "note"), HOOK_CASES)
async def test_hook_note_in_app_details(node_id, note):
    app = make_app("raising_hooks.py")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await select(pilot, node_id)
        text = details_text(app)

        assert "exploded" in text
        assert note in text


def test_describe_error_survives_bad_str():
    class BadStr(Exception):
        def __str__(self):
            raise RuntimeError("no str")

    assert describe_error(BadStr()).startswith("BadStr: <str() of the error raised")


def test_describe_error_cuts_long_message():
    text = describe_error(ValueError("v" * 100_000))
    assert len(text) < 300
    assert text.endswith("...")


# --- results that are hard to show -----------------------------------------------


@pytest.fixture(scope="module")
def bad_values_headless() -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_headless(LoadSpec(PIPELINES / "bad_values.py", None), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def line_of(out: str, node_id: str, kind: str) -> str:
    lines = [
        line
        for line in out.splitlines()
        if line.split()[1:3] == [node_id, kind]
        or line.split()[1:2] == [node_id]
        and kind in line
    ]
    assert len(lines) == 1, f"expected one {kind} line of {node_id}, got {lines}"
    return lines[0]


def test_headless_bad_values_exit_status(bad_values_headless):
    code, _, _ = bad_values_headless
    # bad_str_error, system_exit and keyboard_interrupt failed.
    assert code == 1


@pytest.mark.parametrize(
    ("node_id", "kind", "expected"),
    [
        ("bad_repr", "NodeSucceeded", "<BadRepr instance at"),
        ("huge_repr", "NodeSucceeded", "HugeRepr hhh"),
        ("huge_string", "NodeSucceeded", "str 'sss"),
        ("bad_chunks", "NodeSucceeded", "3 chunks"),
        ("bad_str_error", "NodeFailed", "BadStrError: <str() of the error raised"),
        ("system_exit", "NodeFailed", "SystemExit: 3"),
        ("keyboard_interrupt", "NodeFailed", "KeyboardInterrupt"),
    ],
)
def test_headless_reports_bad_value(bad_values_headless, node_id, kind, expected):
    _, out, _ = bad_values_headless
    line = line_of(out, node_id, kind)
    assert expected in line
    assert len(line) < 1000


def test_headless_bad_chunks_reported(bad_values_headless):
    _, out, _ = bad_values_headless
    chunk_lines = [line for line in out.splitlines() if "ChunkEmitted" in line]
    assert len(chunk_lines) == 3
    assert max(len(line) for line in chunk_lines) < 300


def test_runner_notices_escaped_exceptions():
    runner = PipelineRunner(LoadSpec(PIPELINES / "bad_values.py", None))
    runner.start()
    messages = []
    try:
        while not any(isinstance(m, PipelineEnded) for m in messages):
            messages.append(runner.queue.get(timeout=30))
    finally:
        runner.stop()
    notices = [m.text for m in messages if isinstance(m, Notice)]
    ended = [m for m in messages if isinstance(m, PipelineEnded)]

    assert any("SystemExit" in text for text in notices)
    assert any("KeyboardInterrupt" in text for text in notices)
    assert ended[0].error is None
    assert ended[0].failed_nodes == 3


def test_builder_system_exit_is_load_error(tmp_path: pathlib.Path):
    path = tmp_path / "exits.py"
    path.write_text("import sys\n\ndef build():\n    sys.exit(4)\n")
    out, err = io.StringIO(), io.StringIO()
    code = run_headless(LoadSpec(path, None), out=out, err=err)

    assert code == 2
    assert "SystemExit: 4" in err.getvalue()


def test_script_keyboard_interrupt_is_load_error(tmp_path: pathlib.Path):
    path = tmp_path / "interrupts.py"
    path.write_text(
        "import asyncio\n"
        "from grafo_core import Node, TreeExecutor\n\n"
        "async def stop():\n"
        "    raise KeyboardInterrupt\n\n"
        "asyncio.run(TreeExecutor(roots=[Node(stop, uuid='stop')]).run())\n"
    )
    out, err = io.StringIO(), io.StringIO()
    code = run_headless(LoadSpec(path, None), out=out, err=err)

    assert code == 2
    assert "KeyboardInterrupt" in err.getvalue()
    assert "NodeFailed" in out.getvalue()


async def test_app_shows_returned_bad_values():
    app = make_app("bad_values.py:returns_only")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await pilot.pause(0.1)
        for node_id in ("bad_repr", "huge_repr", "huge_string"):
            assert app.model.nodes[node_id].state is NodeState.SUCCEEDED
        for node_id in ("system_exit", "keyboard_interrupt"):
            assert app.model.nodes[node_id].state is NodeState.FAILED
        await select(pilot, "huge_repr")
        assert len(details_text(app)) < 20_000
    assert app.return_code in (0, None)


async def test_app_shows_bad_chunks():
    app = make_app("bad_values.py:chunks_only")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await pilot.pause(0.1)
        chunks = [line for line in app.chunk_log.lines if line.kind == "chunk"]
        assert len(chunks) == 3
        assert max(len(line.text) for line in chunks) < 10_000


async def test_app_shows_error_with_bad_str():
    app = make_app("bad_values.py:bad_str_only")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        node = app.model.nodes["bad_str_error"]
        assert node.state is NodeState.FAILED
