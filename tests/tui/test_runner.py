"""Tests of the pipeline runner: its thread, loop, queue, output and commands."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import pathlib
import queue
import sys
import threading

from grafo_core import Node, events
from grafo_tui.loader import LoadSpec
from grafo_tui.output_capture import OutputWritten
from grafo_tui.pipeline_messages import ExecutorAttached, Notice, PipelineEnded
from grafo_tui.pipeline_thread import FailedNodeCounter
from grafo_tui.runner import PipelineRunner

PIPELINES = pathlib.Path(__file__).parent / "pipelines"
BUILDERS = PIPELINES / "load_builders.py"
QUEUE_TIMEOUT = 10  # seconds; only a guard against a hung test, never reached


def receive_until(runner: PipelineRunner, predicate) -> list[object]:
    """Return the runner's messages up to and including the first matching one."""
    messages = []
    while True:
        message = runner.queue.get(timeout=QUEUE_TIMEOUT)
        messages.append(message)
        if predicate(message):
            return messages


def is_ended(message: object) -> bool:
    return isinstance(message, PipelineEnded)


def run_to_end(spec: LoadSpec) -> list[object]:
    runner = PipelineRunner(spec)
    runner.check()
    runner.start()
    try:
        return receive_until(runner, is_ended)
    finally:
        runner.stop()


def remaining(runner: PipelineRunner) -> list[object]:
    messages = []
    while True:
        try:
            messages.append(runner.queue.get_nowait())
        except queue.Empty:
            return messages


def of_type(messages: list[object], kind: type) -> list:
    return [message for message in messages if isinstance(message, kind)]


def succeeded_ids(messages: list[object]) -> list[str | None]:
    return [m.node_id for m in of_type(messages, events.NodeSucceeded)]


# --- function mode --------------------------------------------------------------


def test_sync_builder_returning_executor():
    messages = run_to_end(LoadSpec(BUILDERS, "sync_executor"))
    started = of_type(messages, events.RunStarted)
    assert [m.description for m in started] == ["from sync_executor"]
    assert len(succeeded_ids(messages)) == 1
    assert messages[-1].error is None


def test_async_builder_returning_node_list():
    messages = run_to_end(LoadSpec(BUILDERS, "async_node_list"))
    started = of_type(messages, events.RunStarted)
    assert [m.description for m in started] == ["load_builders"]
    assert sorted(started[0].root_ids) == ["double", "square"]
    assert sorted(succeeded_ids(messages)) == ["double", "square"]


def test_builder_returning_single_node():
    messages = run_to_end(LoadSpec(BUILDERS, "single_node"))
    assert succeeded_ids(messages) == ["square"]


def test_build_is_default_function():
    messages = run_to_end(LoadSpec(PIPELINES / "load_default_build.py", None))
    assert messages[-1].error is None
    assert succeeded_ids(messages) == ["hello"]


def test_attached_executor_precedes_run_started():
    messages = run_to_end(LoadSpec(BUILDERS, "single_node"))
    kinds = [
        type(m) for m in messages if isinstance(m, ExecutorAttached | events.Event)
    ]
    assert kinds[:2] == [ExecutorAttached, events.RunStarted]


def test_functions_lists_async_functions():
    runner = PipelineRunner(LoadSpec(BUILDERS, "single_node"))
    runner.check()
    assert {"double", "square", "async_node_list", "node_body"} <= set(runner.functions)
    assert "sync_executor" not in runner.functions
    assert "Node" not in runner.functions


def test_failed_nodes_counted():
    messages = run_to_end(LoadSpec(PIPELINES / "runner_chunks.py", "build_failing"))
    failed = of_type(messages, events.NodeFailed)
    assert [m.node_id for m in failed] == ["broken"]
    assert messages[-1].failed_nodes == 1


def test_no_failed_nodes_counted():
    messages = run_to_end(LoadSpec(PIPELINES / "runner_chunks.py", "build_passing"))
    assert messages[-1].failed_nodes == 0


FAILURES = PIPELINES / "runner_failures.py"


def is_held(message: object) -> bool:
    return isinstance(message, events.RunHeld)


def wait_for(future: concurrent.futures.Future) -> object:
    return future.result(timeout=QUEUE_TIMEOUT)


def node_event(kind: type, node_id: str, run_id: str = "run") -> events.Event:
    """Return a per-node event whose extra fields do not matter to the count."""
    extra = {
        events.NodeAdded: ("label", "f", False, True, None, "", ""),
        events.NodeQueued: (),
        events.NodeStarted: (1, {}),
        events.NodeSucceeded: (0.1, None, 0),
        events.NodeFailed: (0.1, ValueError("broken")),
        events.NodeTimedOut: (0.1, 0.1),
        events.NodeReset: ("retry",),
        events.NodeRemoved: (),
    }[kind]
    return kind(run_id, node_id, 1.0, *extra)


def run_started(run_id: str = "run") -> events.RunStarted:
    return events.RunStarted(run_id, None, 1.0, "", ("n",), None)


def test_counter_counts_node_once_per_run():
    counter = FailedNodeCounter()
    counter(run_started())
    for kind in (events.NodeFailed, events.NodeReset, events.NodeTimedOut):
        counter(node_event(kind, "n"))
    assert counter.count == 1


def test_counter_drops_node_that_succeeds_after_reset():
    counter = FailedNodeCounter()
    counter(run_started())
    for kind in (events.NodeFailed, events.NodeReset, events.NodeSucceeded):
        counter(node_event(kind, "n"))
    assert counter.count == 0


def test_counter_keeps_removed_failed_node():
    counter = FailedNodeCounter()
    counter(run_started())
    counter(node_event(events.NodeFailed, "n"))
    counter(node_event(events.NodeRemoved, "n"))
    assert counter.count == 1
    # A new node that reuses the id is another node.
    counter(node_event(events.NodeAdded, "n"))
    counter(node_event(events.NodeFailed, "n"))
    assert counter.count == 2


def test_counter_sums_runs_of_one_executor():
    counter = FailedNodeCounter()
    for _ in range(2):
        counter(run_started())
        counter(node_event(events.NodeFailed, "n"))
    assert counter.count == 2
    counter(node_event(events.NodeSucceeded, "n"))
    assert counter.count == 1


def test_counter_ignores_events_before_run_started():
    counter = FailedNodeCounter()
    counter(node_event(events.NodeFailed, "n"))
    assert counter.count == 0


def test_retried_success_not_counted():
    runner = PipelineRunner(LoadSpec(FAILURES, "build_fails_once"), hold_on_error=True)
    runner.check()
    runner.start()
    try:
        held = receive_until(runner, is_held)
        assert [m.node_id for m in of_type(held, events.NodeFailed)] == ["flaky"]
        assert wait_for(runner.submit(lambda executor: executor.retry("flaky")))
        messages = receive_until(runner, is_ended)
    finally:
        runner.stop()
    assert succeeded_ids(messages) == ["flaky", "report"]
    assert messages[-1].failed_nodes == 0
    assert runner.failed_nodes == 0


def test_node_failing_twice_counted_once():
    runner = PipelineRunner(
        LoadSpec(FAILURES, "build_always_fails"), hold_on_error=True
    )
    runner.check()
    runner.start()
    try:
        first = receive_until(runner, is_held)
        assert wait_for(runner.submit(lambda executor: executor.retry("broken")))
        second = receive_until(runner, is_held)
        wait_for(runner.submit(lambda executor: executor.release()))
        rest = receive_until(runner, is_ended)
    finally:
        runner.stop()
    assert len(of_type(first + second, events.NodeFailed)) == 2
    assert rest[-1].failed_nodes == 1


def test_removed_failed_node_counted():
    runner = PipelineRunner(
        LoadSpec(FAILURES, "build_always_fails"), hold_on_error=True
    )
    runner.check()
    runner.start()
    try:
        receive_until(runner, is_held)
        removed = wait_for(runner.submit(lambda executor: executor.remove("broken")))
        messages = receive_until(runner, is_ended)
    finally:
        runner.stop()
    assert removed == ["broken"]
    assert of_type(messages, events.NodeRemoved)
    assert messages[-1].failed_nodes == 1


def test_failed_nodes_known_after_stop_mid_run():
    runner = PipelineRunner(
        LoadSpec(FAILURES, "build_always_fails"), hold_on_error=True
    )
    runner.check()
    runner.start()
    try:
        receive_until(runner, is_held)
    finally:
        runner.stop()
    assert runner.failed_nodes == 1


def test_failed_nodes_summed_over_runs_of_executor():
    messages = run_to_end(LoadSpec(PIPELINES / "runner_two_failing_runs.py", None))
    assert len(of_type(messages, events.RunStarted)) == 2
    assert messages[-1].failed_nodes == 2


def test_failed_nodes_of_concurrent_runs_counted():
    messages = run_to_end(LoadSpec(PIPELINES / "off_screen_failure.py", None))
    failed = of_type(messages, events.NodeFailed)
    assert [(m.run_id, m.node_id) for m in failed] == [("alpha", "a1")]
    assert messages[-1].failed_nodes == 1


def test_rerun_counts_failed_nodes_afresh():
    runner = PipelineRunner(LoadSpec(FAILURES, "build_fails_once"))
    runner.check()
    runner.start()
    try:
        first = receive_until(runner, is_ended)
        runner.rerun()
        second = receive_until(runner, is_ended)
    finally:
        runner.stop()
    # The module is loaded again for the second pass, so flaky fails again
    # there; each pass reports its own failed node.
    assert first[-1].failed_nodes == 1
    assert second[-1].failed_nodes == 1
    assert runner.failed_nodes == 1


# --- script mode ----------------------------------------------------------------


def test_script_two_runs_attach_separately():
    messages = run_to_end(LoadSpec(PIPELINES / "runner_two_runs.py", None))
    attached = of_type(messages, ExecutorAttached)
    started = of_type(messages, events.RunStarted)

    assert messages[-1].error is None
    assert len(attached) == 2
    assert attached[0].executor is not attached[1].executor
    assert [m.description for m in started] == ["run 0", "run 1"]
    assert [m.run_id for m in started] == [a.executor.name for a in attached]
    assert succeeded_ids(messages) == ["step-0", "step-1"]


def test_script_attach_order_per_run():
    messages = run_to_end(LoadSpec(PIPELINES / "runner_two_runs.py", None))
    for attached in of_type(messages, ExecutorAttached):
        index = messages.index(attached)
        following = [m for m in messages[index:] if isinstance(m, events.RunStarted)]
        assert following[0].run_id == attached.executor.name


def test_script_functions_filled_during_run():
    runner = PipelineRunner(LoadSpec(PIPELINES / "runner_two_runs.py", None))
    runner.check()
    assert runner.functions == {}
    runner.start()
    try:
        receive_until(runner, lambda m: isinstance(m, ExecutorAttached))
        assert {"step", "main"} <= set(runner.functions)
        # `asyncio.run(main())` started the run, so `main` is the entry point.
        assert runner.entry_point == "main"
    finally:
        runner.stop()


def test_entry_point_of_a_builder_is_its_name():
    runner = PipelineRunner(LoadSpec(BUILDERS, "async_node_list"))
    runner.start()
    try:
        receive_until(runner, lambda m: isinstance(m, ExecutorAttached))
        assert runner.entry_point == "async_node_list"
    finally:
        runner.stop()


def test_script_restores_main_and_argv():
    main_module = sys.modules["__main__"]
    argv = list(sys.argv)
    run_to_end(LoadSpec(PIPELINES / "runner_two_runs.py", None))
    assert sys.modules["__main__"] is main_module
    assert sys.argv == argv


# --- output capture -------------------------------------------------------------


def test_printed_output_becomes_messages():
    stdout, stderr = sys.stdout, sys.stderr
    messages = run_to_end(LoadSpec(PIPELINES / "runner_prints.py", None))
    written = [(m.stream, m.text) for m in of_type(messages, OutputWritten)]
    assert ("stdout", "to stdout\n") in written
    assert ("stderr", "to stderr\n") in written
    assert ("stdout", "partial line\n") in written
    assert sys.stdout is stdout
    assert sys.stderr is stderr


def test_output_arrives_before_node_succeeds():
    messages = run_to_end(LoadSpec(PIPELINES / "runner_prints.py", None))
    output = of_type(messages, OutputWritten)[0]
    success = of_type(messages, events.NodeSucceeded)[0]
    assert messages.index(output) < messages.index(success)


def test_other_thread_output_not_captured(capsys):
    runner = PipelineRunner(LoadSpec(PIPELINES / "runner_blocked.py", None))
    runner.start()
    try:
        receive_until(runner, lambda m: isinstance(m, events.NodeStarted))
        print("printed by the test thread")
    finally:
        runner.stop()
    texts = [m.text for m in of_type(remaining(runner), OutputWritten)]
    assert "printed by the test thread\n" not in texts
    assert "printed by the test thread" in capsys.readouterr().out


# --- submit ---------------------------------------------------------------------


@contextlib.contextmanager
def blocked_runner():
    """Yield a runner whose two nodes have started and wait until cancelled.

    It is started inside the test body, not in a fixture: pytest swaps
    `sys.stdout` between a test's setup and call, which would take away the
    runner's output proxy.
    """
    runner = PipelineRunner(LoadSpec(PIPELINES / "runner_blocked.py", None))
    runner.check()
    runner.start()
    seen: set[str | None] = set()

    def both_running(message: object) -> bool:
        if isinstance(message, events.NodeStarted):
            seen.add(message.node_id)
        return seen == {"stream", "wait"}

    try:
        receive_until(runner, both_running)
        yield runner
    finally:
        runner.stop()


def test_submit_cancels_node():
    with blocked_runner() as runner:
        future = runner.submit(lambda ex: ex.cancel("wait", reason="by the test"))
        assert future.result(timeout=QUEUE_TIMEOUT) is True
        messages = receive_until(runner, lambda m: isinstance(m, events.NodeCancelled))
        cancelled = messages[-1]
        assert cancelled.node_id == "wait"
        assert cancelled.reason == "by the test"


def test_submit_runs_on_pipeline_thread():
    with blocked_runner() as runner:
        future = runner.submit(lambda ex: threading.current_thread().name)
        assert future.result(timeout=QUEUE_TIMEOUT) == "grafo-tui pipeline"


def test_submit_passes_current_executor():
    with blocked_runner() as runner:
        future = runner.submit(lambda ex: ex)
        assert future.result(timeout=QUEUE_TIMEOUT) is runner.executor


def test_submit_awaits_coroutine():
    with blocked_runner() as runner:

        async def add_node(executor):
            async def extra():
                return "extra"

            await executor.add(Node(extra, uuid="extra"), parents=["wait"])
            return executor.running_count

        future = runner.submit(add_node)
        assert future.result(timeout=QUEUE_TIMEOUT) >= 2
        messages = receive_until(
            runner,
            lambda m: isinstance(m, events.NodeAdded) and m.node_id == "extra",
        )
        assert messages[-1].label == "extra"


def test_submit_sets_exception():
    with blocked_runner() as runner:
        future = runner.submit(lambda ex: 1 / 0)
        assert isinstance(future.exception(timeout=QUEUE_TIMEOUT), ZeroDivisionError)


def test_submit_before_start_fails():
    runner = PipelineRunner(LoadSpec(BUILDERS, "single_node"))
    future = runner.submit(lambda ex: ex)
    assert isinstance(future.exception(timeout=0), RuntimeError)


def test_submit_after_end_reaches_executor():
    runner = PipelineRunner(LoadSpec(BUILDERS, "single_node"))
    runner.check()
    runner.start()
    try:
        receive_until(runner, is_ended)
        future = runner.submit(lambda ex: ex.node("square").uuid)
        assert future.result(timeout=QUEUE_TIMEOUT) == "square"
    finally:
        runner.stop()


# --- stop and rerun -------------------------------------------------------------


def test_stop_closes_async_generator():
    with blocked_runner() as runner:
        runner.stop()
        messages = remaining(runner)
        texts = [m.text for m in of_type(messages, OutputWritten)]
        finished = of_type(messages, events.RunFinished)

        assert "stream closed\n" in texts
        assert len(finished) == 1
        assert finished[0].cancelled is True
        assert runner.finished is True
        assert of_type(messages, PipelineEnded)[0].error is None


def test_stop_cancels_running_nodes():
    with blocked_runner() as runner:
        runner.stop()
        messages = remaining(runner)
        ended_ids = {
            m.node_id
            for m in messages
            if isinstance(m, events.NodeCancelled | events.NodeSucceeded)
        }
        assert "wait" in ended_ids
        assert "stream" in ended_ids


def test_stop_script_mid_run(tmp_path):
    path = tmp_path / "blocked_script.py"
    path.write_text(
        "import asyncio\n"
        "from grafo_core import Node, TreeExecutor\n"
        "async def wait():\n"
        "    try:\n"
        "        await asyncio.Event().wait()\n"
        "    finally:\n"
        "        print('wait finally')\n"
        "async def main():\n"
        "    await TreeExecutor(roots=[Node(wait, uuid='wait')]).run()\n"
        "    print('after the run')\n"
        "asyncio.run(main())\n"
    )
    runner = PipelineRunner(LoadSpec(path, None))
    runner.start()
    receive_until(runner, lambda m: isinstance(m, events.NodeStarted))
    runner.stop()
    texts = [m.text for m in of_type(remaining(runner), OutputWritten)]
    assert "wait finally\n" in texts
    assert "after the run\n" not in texts
    assert runner.finished is True


def test_stop_twice_and_before_start():
    runner = PipelineRunner(LoadSpec(BUILDERS, "single_node"))
    runner.stop()
    runner.stop()
    assert runner.finished is True


def test_stop_restores_sys_streams():
    with blocked_runner() as runner:
        assert type(sys.stdout).__name__ == "_ThreadOutputProxy"
        runner.stop()
        assert type(sys.stdout).__name__ != "_ThreadOutputProxy"
        assert type(sys.stderr).__name__ != "_ThreadOutputProxy"


def test_rerun_runs_again():
    runner = PipelineRunner(LoadSpec(PIPELINES / "load_default_build.py", None))
    runner.check()
    runner.start()
    try:
        first = receive_until(runner, is_ended)
        assert runner.finished is True
        runner.rerun()
        second = receive_until(runner, is_ended)
    finally:
        runner.stop()
    assert succeeded_ids(first) == ["hello"]
    assert succeeded_ids(second) == ["hello"]
    first_run = of_type(first, events.RunStarted)[0].run_id
    second_run = of_type(second, events.RunStarted)[0].run_id
    assert first_run != second_run


def test_rerun_while_running_sends_notice():
    with blocked_runner() as runner:
        runner.rerun()
        messages = receive_until(runner, lambda m: isinstance(m, Notice))
        assert "still running" in messages[-1].text


def test_loop_is_pipeline_loop():
    with blocked_runner() as runner:
        loop = runner.loop
        assert loop is not None
        future = asyncio.run_coroutine_threadsafe(asyncio.sleep(0, "on loop"), loop)
        assert future.result(timeout=QUEUE_TIMEOUT) == "on loop"


def test_stop_unregisters_function_module():
    run_to_end(LoadSpec(BUILDERS, "single_node"))
    assert "load_builders" not in sys.modules


def test_input_in_pipeline_fails_with_clear_message():
    messages = run_to_end(LoadSpec(PIPELINES / "runner_asks_input.py", None))
    ended = of_type(messages, PipelineEnded)
    assert ended[-1].error is not None
    assert "asked for input" in str(ended[-1].error)


def test_refused_prompt_ends_its_line():
    messages = run_to_end(LoadSpec(PIPELINES / "runner_asks_then_prints.py", None))
    texts = [m.text for m in of_type(messages, OutputWritten) if m.stream == "stdout"]
    assert "".join(texts).startswith("name? \nline after the prompt\n")


def test_tree_sent_after_graph_queued():
    runner = PipelineRunner(LoadSpec(PIPELINES / "app_layered.py", None))
    runner.check()
    assert not runner.tree_sent.is_set()
    runner.start()
    try:
        assert runner.tree_sent.wait(QUEUE_TIMEOUT)
        messages = receive_until(runner, is_ended)
        added = of_type(messages, events.NodeAdded)
        # All 32 nodes were queued before the flag was set.
        assert len(added) == 32
    finally:
        runner.stop()


def test_tree_sent_after_load_failure():
    runner = PipelineRunner(LoadSpec(PIPELINES / "app_script_error.py", None))
    runner.check()
    runner.start()
    try:
        assert runner.tree_sent.wait(QUEUE_TIMEOUT)
        receive_until(runner, is_ended)
    finally:
        runner.stop()
