"""Debugging aids: breakpoints, retry, held runs, faults and introspection."""

from __future__ import annotations

import asyncio
import sys
import threading

import pytest

from grafo_core import (
    NodeState,
    TreeExecutor,
    current_node_id,
    events,
    node_of_frame,
    track_node_context,
)
from grafo_core.errors import InjectedFault
from tests.core.helpers import Recorder, make, nap
from tests.core.test_control import Gate, gated, wait_for


def fails_while(broken: list[bool]):
    """Return a node function that raises while `broken[0]` is true."""

    async def flaky():
        if broken[0]:
            raise ConnectionError("service down")
        return "fixed"

    return flaky


async def too_slow():
    await asyncio.sleep(1)


async def test_breakpoint_pauses_before_its_node():
    first, second, third = make("first"), make("second"), make("third")
    await first.connect(second)
    await second.connect(third)
    executor = TreeExecutor(roots=[first])
    executor.set_breakpoint("second")
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await wait_for(lambda: recorder.of(events.RunPaused))
    paused = recorder.of(events.RunPaused)[0]
    assert paused.node_id == "second"
    assert "breakpoint" in paused.reason
    assert executor.state("second") is NodeState.READY
    assert recorder.started() == ["first"]
    assert executor.step() == "second"
    await wait_for(lambda: recorder.of(events.NodeQueued, "third"))
    assert "third" not in recorder.started()
    executor.resume()
    await task
    assert recorder.started() == ["first", "second", "third"]


async def test_breakpoint_then_resume_starts_the_node():
    only = make("only")
    executor = TreeExecutor(roots=[only])
    executor.set_breakpoint("only")
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await wait_for(lambda: executor.is_paused)
    executor.resume()
    await task
    assert recorder.started() == ["only"]


async def test_removed_breakpoint_no_longer_pauses():
    executor = TreeExecutor(roots=[make("only")])
    executor.set_breakpoint("only")
    executor.set_breakpoint("only", enabled=False)
    recorder = Recorder(executor)
    await executor.run()
    assert recorder.of(events.RunPaused) == []
    assert executor.breakpoints == frozenset()


async def test_retry_failed_node_runs_it_and_descendants():
    broken = [True]

    async def flaky():
        if broken[0]:
            raise ConnectionError("service down")
        return "fixed"

    root = make("root", flaky)
    child = make("child")
    await root.connect(child)
    executor = TreeExecutor(roots=[root])
    executor.hold_on_error = True
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await wait_for(lambda: recorder.of(events.RunHeld))
    assert executor.state("child") is NodeState.SKIPPED
    broken[0] = False
    assert executor.retry("root") is True
    await task
    states = recorder.final_states()
    assert states["root"] is NodeState.SUCCEEDED
    assert states["child"] is NodeState.SUCCEEDED
    assert [e.attempt for e in recorder.of(events.NodeStarted, "root")] == [1, 2]
    assert len(recorder.of(events.NodeReset)) == 2


async def test_retry_of_succeeded_node_is_refused():
    gate = Gate()
    executor = TreeExecutor(roots=[make("done"), gated("holder", gate)])
    task = asyncio.create_task(executor.run())
    await gate.entered.wait()
    assert executor.retry("done") is False
    gate.opened.set()
    await task


async def test_held_run_ends_on_release():
    async def explode():
        raise ValueError("bad")

    executor = TreeExecutor(roots=[make("bad", explode)])
    executor.hold_on_error = True
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await wait_for(lambda: recorder.of(events.RunHeld))
    assert not task.done()
    executor.release()
    await task
    assert recorder.of(events.RunFinished)[0].error_count == 1


async def test_injected_error_fails_next_run_only():
    node = make("node")
    executor = TreeExecutor(roots=[node])
    executor.inject_fault("node", error="simulated outage")
    await executor.run()
    assert isinstance(executor.errors[0], InjectedFault)
    assert "simulated outage" in str(executor.errors[0])
    await executor.run()
    assert executor.errors == []


async def test_injected_delay_counts_in_timeout():
    executor = TreeExecutor(roots=[make("node", timeout=0.01)])
    executor.inject_fault("node", delay=1.0)
    recorder = Recorder(executor)
    await executor.run()
    assert recorder.final_states()["node"] is NodeState.TIMED_OUT


def test_inject_fault_rejects_negative_delay():
    with pytest.raises(ValueError, match="-1"):
        TreeExecutor().inject_fault("node", delay=-1)


async def test_where_shows_innermost_await():
    gate = Gate()
    holder = gated("holder", gate)
    executor = TreeExecutor(roots=[holder])
    task = asyncio.create_task(executor.run())
    await gate.entered.wait()
    frames = executor.where("holder")
    functions = [function for _, _, function in frames]
    assert functions[-1] == "wait"
    assert "__call__" in functions
    assert frames[functions.index("__call__")][0].endswith("test_control.py")
    gate.opened.set()
    await task


async def test_where_follows_generator_nodes():
    release = asyncio.Event()

    async def stream():
        yield 1
        await release.wait()

    executor = TreeExecutor(roots=[make("gen", stream)])
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await wait_for(lambda: recorder.of(events.ChunkEmitted))
    await asyncio.sleep(0)
    functions = [function for _, _, function in executor.where("gen")]
    assert "stream" in functions
    release.set()
    await task


async def test_node_of_frame_names_a_blocking_node():
    found = []
    blocking = threading.Event()
    loop_thread = threading.get_ident()

    def watch():
        blocking.wait(timeout=5)
        frame = sys._current_frames()[loop_thread]
        found.append(node_of_frame(frame))

    async def block():
        blocking.set()
        watcher.join(timeout=5)  # the loop stays blocked while it looks

    watcher = threading.Thread(target=watch)
    watcher.start()
    await TreeExecutor(roots=[make("root", nap), make("blocker", block)]).run()
    assert found == ["blocker"]


async def test_current_node_id_in_node_code():
    seen: list[tuple[str, str | None]] = []

    async def plain():
        seen.append(("plain", current_node_id()))
        await asyncio.sleep(0)
        seen.append(("plain after a suspension", current_node_id()))

    async def streaming():
        seen.append(("streaming", current_node_id()))
        yield 1

    async def with_arguments(value):
        seen.append(("with_arguments", current_node_id()))

    async def after_run():
        seen.append(("on_after_run", current_node_id()))

    nodes = [
        make("first", plain),
        make("second", streaming),
        make("third", with_arguments, kwargs={"value": lambda: 2}),
        make("fourth", nap, on_after_run=(after_run, {})),
    ]
    await TreeExecutor(roots=nodes).run()
    assert sorted(seen) == [
        ("on_after_run", "fourth"),
        ("plain", "first"),
        ("plain after a suspension", "first"),
        ("streaming", "second"),
        ("with_arguments", "third"),
    ]


@pytest.fixture
def tracking():
    track_node_context(True)
    yield
    track_node_context(False)


def spawner_recording(seen: list[tuple[str, str | None]]):
    async def spawns():
        async def helper():
            seen.append(("gathered", current_node_id()))

        await asyncio.gather(helper())
        await asyncio.get_running_loop().create_task(helper())
        await asyncio.to_thread(lambda: seen.append(("thread", current_node_id())))

    return make("spawner", spawns)


async def test_current_node_id_tracked_subtasks(tracking):
    seen: list[tuple[str, str | None]] = []
    await TreeExecutor(roots=[spawner_recording(seen)]).run()
    assert seen == [
        ("gathered", "spawner"),
        ("gathered", "spawner"),
        ("thread", "spawner"),
    ]
    assert current_node_id() is None  # the test's own task is in no node
    assert await asyncio.to_thread(current_node_id) is None


async def test_current_node_id_untracked_subtasks():
    seen: list[tuple[str, str | None]] = []
    await TreeExecutor(roots=[spawner_recording(seen)]).run()
    assert seen == [("gathered", None), ("gathered", None), ("thread", None)]


async def test_breakpoint_pauses_again_after_a_cancel_at_it():
    node = make("guarded")
    executor = TreeExecutor(roots=[node])
    executor.set_breakpoint("guarded")
    executor.hold_on_error = True
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await wait_for(lambda: recorder.of(events.RunPaused))
    executor.cancel("guarded")
    await wait_for(lambda: recorder.of(events.RunHeld))
    executor.retry("guarded")
    executor.resume()
    # The breakpoint still holds: the retried node pauses before it starts.
    await wait_for(lambda: len(recorder.of(events.RunPaused)) == 2)
    assert recorder.started() == []
    executor.resume()
    executor.release()
    await task
    assert recorder.started() == ["guarded"]


async def test_retry_leaves_alone_what_another_failure_skipped():
    broken = [True]
    flaky = fails_while(broken)

    first = make("first", flaky)
    slow = make("slow", too_slow, timeout=0.02)
    healthy = make("healthy")
    for parent in (first, slow, healthy):
        await parent.connect(make(f"{parent.uuid}.kid"))
    executor = TreeExecutor(roots=[first, slow, healthy])
    executor.hold_on_error = True
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await wait_for(lambda: recorder.of(events.RunHeld))
    assert executor.state("slow") is NodeState.TIMED_OUT
    broken[0] = False
    assert executor.retry("first") is True
    await wait_for(lambda: recorder.of(events.NodeSucceeded, "first.kid"))
    assert executor.state("slow.kid") is NodeState.SKIPPED
    reset = {event.node_id for event in recorder.of(events.NodeReset)}
    assert reset == {"first", "first.kid"}
    # The timeout still stops the run: a node outside the retry stays put.
    assert "healthy.kid" not in recorder.started()
    executor.release()
    await task
    states = recorder.final_states()
    assert states["healthy.kid"] is NodeState.SKIPPED
    reason = recorder.of(events.NodeSkipped, "healthy.kid")[-1].reason
    assert reason == "the run stopped after 'slow' timed out"


async def test_retry_last_failure_resumes_run():
    broken = [True]
    flaky = fails_while(broken)

    first = make("first", flaky)
    healthy = make("healthy")
    await first.connect(make("first.kid"))
    await healthy.connect(make("healthy.kid"))
    executor = TreeExecutor(roots=[first, healthy])
    executor.hold_on_error = True
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await wait_for(lambda: recorder.of(events.RunHeld))
    broken[0] = False
    assert executor.retry("first") is True
    await task
    states = recorder.final_states()
    assert states["first.kid"] is NodeState.SUCCEEDED
    assert states["healthy.kid"] is NodeState.SUCCEEDED


async def test_timed_out_ancestor_is_named_as_timed_out():
    async def too_slow():
        await asyncio.sleep(1)

    slow = make("slow", too_slow, timeout=0.02)
    await slow.connect(make("kid"))
    executor = TreeExecutor(roots=[slow])
    recorder = Recorder(executor)
    await executor.run()
    assert recorder.of(events.NodeSkipped, "kid")[0].reason == (
        "ancestor 'slow' timed out"
    )


async def test_breakpoint_on_an_unknown_id_warns(caplog):
    executor = TreeExecutor(roots=[make("real")])
    with caplog.at_level("WARNING", logger="grafo_core"):
        executor.set_breakpoint("rael")
        executor.inject_fault("rael", error="boom")
        executor.set_breakpoint("real")
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 2
    assert warnings[0].startswith("set_breakpoint('rael'): executor")
    assert warnings[1].startswith("inject_fault('rael'): executor")
    assert "rael" in executor.breakpoints


async def test_partial_retry_names_the_failure_that_still_blocks():
    broken = [True]
    flaky = fails_while(broken)

    first = make("first", flaky)
    slow = make("slow", too_slow, timeout=0.02)
    shared = make("shared")
    await first.connect(shared)
    await slow.connect(shared)
    executor = TreeExecutor(roots=[first, slow], stop_on_error=False)
    executor.hold_on_error = True
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await wait_for(lambda: recorder.of(events.RunHeld))
    assert recorder.of(events.NodeSkipped, "shared")[0].reason == (
        "ancestor 'first' failed"
    )
    broken[0] = False
    assert executor.retry("first") is True
    await wait_for(lambda: recorder.of(events.NodeSucceeded, "first"))
    assert executor.state("shared") is NodeState.SKIPPED
    assert recorder.of(events.NodeSkipped, "shared")[-1].reason == (
        "ancestor 'slow' timed out"
    )
    executor.release()
    await task


async def test_skipped_descendants_come_in_child_order():
    async def explode():
        raise ValueError("bad")

    root = make("root", explode)
    for name in ("d", "e", "f"):
        await root.connect(make(name))
    executor = TreeExecutor(roots=[root])
    recorder = Recorder(executor)
    await executor.run()
    assert [event.node_id for event in recorder.of(events.NodeSkipped)] == [
        "d",
        "e",
        "f",
    ]


async def test_retry_while_stopping_says_why(caplog):
    gate = Gate()

    async def explode():
        raise ValueError("bad")

    executor = TreeExecutor(
        roots=[make("broken", explode), gated("holder", gate)], stop_on_error=False
    )
    executor.hold_on_error = True
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await gate.entered.wait()
    await wait_for(lambda: recorder.of(events.NodeFailed, "broken"))
    stopping = asyncio.create_task(executor.stop_tree())
    await asyncio.sleep(0)
    with caplog.at_level("WARNING", logger="grafo_core"):
        assert executor.retry("broken") is False
    assert "is stopping" in caplog.records[-1].getMessage()
    gate.opened.set()
    await stopping
    await task


async def test_retry_after_run_end_rejected(caplog):
    # Without hold_on_error a failed run ends. A retry that a subscriber
    # queued lands after that, so it must not start a task run() ignores.
    async def broken():
        await asyncio.sleep(0.01)
        raise RuntimeError("down")

    executor = TreeExecutor(roots=[make("flaky", broken)])
    loop = asyncio.get_running_loop()
    answers: list[bool] = []

    def retry_later(event):
        if isinstance(event, events.NodeFailed):
            loop.call_soon(lambda: answers.append(executor.retry("flaky")))

    executor.subscribe(retry_later)
    with caplog.at_level("WARNING", logger="grafo_core"):
        await executor.run()
    assert answers == [False]
    assert len(executor.errors) == 1
    leftover = [
        task for task in asyncio.all_tasks() if task is not asyncio.current_task()
    ]
    assert leftover == []
    assert "retry ignored" in caplog.text
    assert "has ended" in caplog.text
