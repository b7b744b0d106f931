"""Scheduling rules of TreeExecutor: order, concurrency, failures, cycles."""

from __future__ import annotations

import asyncio

import pytest

from grafo_core import Chunk, NodeState, TreeExecutor, events
from tests.core.helpers import Recorder, make, nap


async def chain(*nodes):
    for parent, child in zip(nodes, nodes[1:], strict=False):
        await parent.connect(child)


async def test_diamond_child_runs_once_after_both_parents():
    top, left, right, bottom = (make(n, nap) for n in ("top", "left", "right", "bot"))
    await top.connect(left)
    await top.connect(right)
    await left.connect(bottom)
    await right.connect(bottom)
    executor = TreeExecutor(roots=[top])
    recorder = Recorder(executor)
    results = await executor.run()
    assert recorder.started().count("bot") == 1
    assert recorder.index(events.NodeStarted, "bot") > recorder.index(
        events.NodeSucceeded, "left"
    )
    assert recorder.index(events.NodeStarted, "bot") > recorder.index(
        events.NodeSucceeded, "right"
    )
    assert results[-1] is bottom
    assert len(results) == 4


async def test_fan_out_runs_children_concurrently():
    root = make("root")
    children = [make(f"child{i}", nap, kwargs={"seconds": 0.02}) for i in range(10)]
    for child in children:
        await root.connect(child)
    executor = TreeExecutor(roots=[root])
    recorder = Recorder(executor)
    await executor.run()
    first_finish = min(
        recorder.index(events.NodeSucceeded, child.uuid) for child in children
    )
    last_start = max(
        recorder.index(events.NodeStarted, child.uuid) for child in children
    )
    assert last_start < first_finish


async def test_results_hold_nodes_and_chunks_in_completion_order():
    async def stream():
        yield "a"
        yield "b"

    root = make("root")
    streamer = make("stream", stream)
    await root.connect(streamer)
    results = await TreeExecutor(roots=[root]).run()
    assert results == [root, Chunk("stream", "a"), Chunk("stream", "b")]


async def test_yielding_delivers_the_same_items():
    async def stream():
        for i in range(3):
            yield i

    root = make("root", stream)
    items = [item async for item in TreeExecutor(roots=[root]).yielding(latency=5)]
    assert items == [Chunk("root", 0), Chunk("root", 1), Chunk("root", 2)]


async def test_child_connected_to_finished_parent_runs():
    late = make("late")

    async def connect_late():
        await first.connect(late)

    first = make("first")
    second = make("second", connect_late)
    await first.connect(second)
    executor = TreeExecutor(roots=[first])
    recorder = Recorder(executor)
    await executor.run()
    assert "late" in recorder.started()
    assert late.output == "ok"


async def test_child_disconnected_from_last_parent_never_runs():
    gate = make("gate", nap, kwargs={"seconds": 0.03})
    child = make("child")

    async def cut():
        await gate.disconnect(child)

    cutter = make("cutter", cut)
    root = make("root")
    await root.connect(gate)
    await root.connect(cutter)
    await gate.connect(child)
    executor = TreeExecutor(roots=[root])
    recorder = Recorder(executor)
    await executor.run()
    assert "child" not in recorder.started()
    assert recorder.final_states()["child"] is NodeState.SKIPPED
    assert len(recorder.of(events.EdgeRemoved, "child")) == 1


async def test_redirect_during_run_decides_which_children_run():
    chosen = make("chosen")
    dropped = [make("drop1"), make("drop2"), make("drop3")]

    async def decide():
        await router.redirect([chosen])

    router = make("router", decide)
    for node in dropped:
        await router.connect(node)
    executor = TreeExecutor(roots=[router])
    recorder = Recorder(executor)
    await executor.run()
    assert recorder.started() == ["router", "chosen"]
    assert router.children == [chosen]


async def test_cycle_reruns_until_condition():
    attempts = []

    async def work():
        attempts.append(len(attempts))
        return len(attempts)

    async def check(value):
        if value < 3:
            if worker not in checker.children:
                await checker.connect(worker)
        elif worker in checker.children:
            await checker.disconnect(worker)
        return value

    worker = make("worker", work)
    checker = make("checker", check)
    await worker.connect(checker, forward="value")
    executor = TreeExecutor(roots=[worker])
    recorder = Recorder(executor)
    await executor.run()
    assert attempts == [0, 1, 2]
    assert [e.attempt for e in recorder.of(events.NodeStarted, "worker")] == [1, 2, 3]
    assert executor.errors == []


async def test_root_with_parent_in_dag_runs_once():
    first, second = make("first"), make("second")
    await first.connect(second)
    executor = TreeExecutor(roots=[first, second])
    recorder = Recorder(executor)
    await executor.run()
    assert recorder.started().count("second") == 1


async def test_failure_stops_descendants_and_later_nodes():
    async def explode():
        await asyncio.sleep(0.005)
        raise ValueError("bad input")

    root = make("root")
    bad = make("bad", explode)
    below = make("below")
    slow = make("slow", nap, kwargs={"seconds": 0.02})
    after_slow = make("after_slow")
    await root.connect(bad)
    await root.connect(slow)
    await bad.connect(below)
    await slow.connect(after_slow)
    executor = TreeExecutor(roots=[root])
    recorder = Recorder(executor)
    await executor.run()
    states = recorder.final_states()
    assert [type(e) for e in executor.errors] == [ValueError]
    assert states["bad"] is NodeState.FAILED
    assert states["below"] is NodeState.SKIPPED
    assert states["slow"] is NodeState.SUCCEEDED
    assert "after_slow" not in recorder.started()


async def test_continue_on_error_runs_independent_branches():
    async def explode():
        raise ValueError("bad")

    root, bad, good = make("root"), make("bad", explode), make("good", nap)
    after = make("after")
    await root.connect(bad)
    await root.connect(good)
    await good.connect(after)
    executor = TreeExecutor(roots=[root], stop_on_error=False)
    await executor.run()
    assert after.output == "ok"
    assert len(executor.errors) == 1


async def test_own_cancelled_error_counts_as_failure():
    async def cancel_myself():
        raise asyncio.CancelledError

    executor = TreeExecutor(roots=[make("node", cancel_myself)])
    recorder = Recorder(executor)
    results = await executor.run()
    assert results == []
    assert recorder.final_states()["node"] is NodeState.FAILED
    assert isinstance(executor.errors[0], asyncio.CancelledError)


async def test_timeout_of_plain_and_generator_nodes():
    async def slow():
        await asyncio.sleep(1)

    async def slow_stream():
        yield 1
        await asyncio.sleep(1)
        yield 2

    executor = TreeExecutor(
        roots=[
            make("plain", slow, timeout=0.01),
            make("gen", slow_stream, timeout=0.01),
        ]
    )
    recorder = Recorder(executor)
    results = await executor.run()
    assert len(executor.errors) == 2
    assert all(isinstance(error, TimeoutError) for error in executor.errors)
    assert recorder.final_states()["plain"] is NodeState.TIMED_OUT
    assert recorder.final_states()["gen"] is NodeState.TIMED_OUT
    assert results == [Chunk("gen", 1)]


async def test_generator_closed_when_it_times_out():
    closed = []

    async def stream():
        try:
            yield 1
            await asyncio.sleep(1)
        finally:
            closed.append(True)

    await TreeExecutor(roots=[make("gen", stream, timeout=0.01)]).run()
    assert closed == [True]


async def test_cancelling_run_cancels_nodes_and_closes_generators():
    closed = []
    started = asyncio.Event()

    async def stream():
        try:
            started.set()
            yield 1
            await asyncio.sleep(10)
            yield 2
        finally:
            closed.append(True)

    executor = TreeExecutor(roots=[make("gen", stream)])
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await started.wait()
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert closed == [True]
    assert recorder.final_states()["gen"] is NodeState.CANCELLED
    assert recorder.of(events.RunFinished)[0].cancelled is True
    assert executor.is_running is False


async def test_leaving_yielding_early_stops_the_run():
    closed = []

    async def endless():
        try:
            while True:
                yield 1
                await asyncio.sleep(0)
        finally:
            closed.append(True)

    executor = TreeExecutor(roots=[make("gen", endless)])
    items = executor.yielding()
    async for _ in items:
        break
    await items.aclose()
    assert closed == [True]
    assert executor.is_running is False


async def test_break_from_yielding_stops_run_once_collected():
    closed = []

    async def endless():
        try:
            while True:
                yield 1
                await asyncio.sleep(0)
        finally:
            closed.append(True)

    executor = TreeExecutor(roots=[make("gen", endless)])
    async for _ in executor.yielding():
        break
    # The dropped generator is closed by asyncio's finalizer hook, which
    # schedules aclose() on the loop: give the loop a bounded number of turns.
    for _ in range(50):
        if not executor.is_running:
            break
        await asyncio.sleep(0)
    assert closed == [True]
    assert executor.is_running is False


async def test_stop_tree_ends_the_run():
    async def stopper():
        await executor.stop_tree()
        return "stopped"

    long = make("long", nap, kwargs={"seconds": 5})
    never = make("never")
    await long.connect(never)
    executor = TreeExecutor(roots=[make("stopper", stopper), long])
    recorder = Recorder(executor)
    await executor.run()
    assert recorder.final_states()["long"] is NodeState.CANCELLED
    assert "never" not in recorder.started()


async def test_get_leaves_and_repr_visit_each_node_once():
    top, left, right, bottom = (make(n) for n in ("top", "left", "right", "bottom"))
    await top.connect(left)
    await top.connect(right)
    await left.connect(bottom)
    await right.connect(bottom)
    await bottom.connect(top)  # a cycle: both must still terminate
    executor = TreeExecutor(uuid="tree", description="demo", roots=[top])
    assert executor.get_leaves() == []
    await bottom.disconnect(top)
    assert executor.get_leaves() == [bottom]
    text = repr(executor)
    assert "uuid='tree'" in text
    assert "description='demo'" in text
    assert text.count("left -> bottom") == 1
    assert text.count("right -> bottom") == 1


def test_roots_must_be_nodes():
    with pytest.raises(TypeError, match=r"roots\[1\]"):
        TreeExecutor(roots=[make("fine"), "nope"])


async def test_two_nodes_with_one_uuid_rejected_at_start():
    root = make("root")
    await root.connect(make("same"))
    await root.connect(make("same"))
    with pytest.raises(ValueError, match="'same'"):
        await TreeExecutor(roots=[root]).run()


async def test_run_twice_at_once_rejected():
    executor = TreeExecutor(roots=[make("slow", nap)])
    first = asyncio.create_task(executor.run())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="already running"):
        await executor.run()
    await first


async def test_executor_can_run_again():
    node = make("node")
    executor = TreeExecutor(roots=[node])
    assert await executor.run() == [node]
    assert await executor.run() == [node]


async def test_waiting_nodes_are_skipped_when_failure_ends_run():
    async def explode():
        raise ValueError("bad")

    gate_parent = make("gate_parent", nap, kwargs={"seconds": 0.02})
    root = make("root", explode)
    unrelated = make("unrelated")
    await gate_parent.connect(unrelated)
    executor = TreeExecutor(roots=[root, gate_parent])
    recorder = Recorder(executor)
    await executor.run()
    skipped = recorder.of(events.NodeSkipped, "unrelated")
    assert len(skipped) == 1
    assert "'root' failed" in skipped[0].reason


async def test_child_connected_during_parents_rerun_waits_for_it():
    rounds = []
    late = make("late", nap)

    async def work():
        rounds.append(1)
        if len(rounds) == 2:
            await looper.connect(late)
            await asyncio.sleep(0.01)
        return len(rounds)

    async def back(value):
        if value < 2 and looper not in checker.children:
            await checker.connect(looper)
        elif value >= 2 and looper in checker.children:
            await checker.disconnect(looper)

    looper = make("looper", work)
    checker = make("checker", back)
    await looper.connect(checker, forward="value")
    executor = TreeExecutor(roots=[looper])
    recorder = Recorder(executor)
    await executor.run()
    second_finish = [
        i
        for i, e in enumerate(recorder.events)
        if isinstance(e, events.NodeSucceeded) and e.node_id == "looper"
    ][1]
    assert recorder.index(events.NodeStarted, "late") > second_finish


async def test_forward_to_child_linked_while_running():
    async def parent_work():
        # The parent started with no forwarding rule, then gains one.
        await parent.connect(child, forward="value")
        return 42

    async def echo(value):
        return value

    parent = make("parent", parent_work)
    child = make("child", echo)
    executor = TreeExecutor(roots=[parent])
    await executor.run()
    assert executor.errors == []
    assert child.output == 42


async def test_forward_to_child_of_completed_parent():
    async def seven():
        return 7

    async def double(value):
        return value * 2

    async def add_late():
        await asyncio.sleep(0.01)
        await first.connect(plain_child, forward="value")
        await first.connect(
            transformed_child, forward="value", on_before_forward=add_one
        )

    async def add_one(value):
        return value + 1

    first = make("first", seven)
    later = make("later", add_late)
    plain_child = make("plain_child", double)
    transformed_child = make("transformed_child", double)
    executor = TreeExecutor(roots=[first, later])
    await executor.run()
    assert executor.errors == []
    assert plain_child.output == 14
    assert transformed_child.output == 16


async def test_finished_child_reruns_with_parent():
    runs = []

    async def loop_body():
        runs.append("body")
        if runs.count("body") < 3:
            await body.connect(body_again)
        elif body_again in body.children:
            await body.disconnect(body_again)

    async def again():
        # Closes the cycle body -> body_again -> body while it is needed.
        if body not in body_again.children:
            await body_again.connect(body)

    async def side():
        runs.append("side")

    body = make("body", loop_body)
    body_again = make("body_again", again)
    side_node = make("side", side)
    await body.connect(side_node)
    executor = TreeExecutor(roots=[body])
    await executor.run()
    assert executor.errors == []
    # The side child is outside the cycle, and runs after each body run.
    assert runs.count("body") == 3
    assert runs.count("side") == 3


async def test_concurrent_same_uuid_warns(caplog):
    first = TreeExecutor(uuid="etl", roots=[make("a", nap)])
    second = TreeExecutor(uuid="etl", roots=[make("b", nap)])
    other = TreeExecutor(uuid="report", roots=[make("c", nap)])
    with caplog.at_level("WARNING", logger="grafo_core"):
        await asyncio.gather(first.run(), other.run())
        assert caplog.records == []  # distinct uuids: nothing to say
        await asyncio.gather(first.run(), second.run())
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1
    assert "two executors named 'etl' run at once" in warnings[0]
    # One after the other, their events do not interleave: no warning.
    caplog.clear()
    with caplog.at_level("WARNING", logger="grafo_core"):
        await first.run()
        await second.run()
    assert caplog.records == []
