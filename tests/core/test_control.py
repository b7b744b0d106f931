"""Run-time control: add, remove, cancel, pause, step and max_workers."""

from __future__ import annotations

import asyncio
import gc
import warnings

import pytest

from grafo_core import Node, NodeState, TreeExecutor, events
from tests.core.helpers import Recorder, make, nap


async def wait_for(condition, turns: int = 500) -> None:
    """Let the loop run until `condition()` holds, failing after `turns` sleeps."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition never held")


class Gate:
    """A node function that blocks until the test opens its gate."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.opened = asyncio.Event()

    async def __call__(self) -> str:
        self.entered.set()
        await self.opened.wait()
        return "opened"


def gated(uuid: str, gate: Gate) -> Node:
    async def wait_at_gate():
        return await gate()

    return Node(wait_at_gate, uuid=uuid)


async def test_add_under_finished_parent_runs_at_once():
    gate = Gate()
    root, holder = make("root"), gated("holder", gate)
    executor = TreeExecutor(roots=[root, holder])
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await gate.entered.wait()
    await executor.add(make("added"), parents=["root"])
    await wait_for(lambda: recorder.of(events.NodeSucceeded, "added"))
    gate.opened.set()
    await task
    assert recorder.final_states()["added"] is NodeState.SUCCEEDED


async def test_add_under_waiting_parent_waits_for_it():
    gate = Gate()
    holder = gated("holder", gate)
    executor = TreeExecutor(roots=[holder])
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await gate.entered.wait()
    await executor.add(make("added"), parents=[holder])
    assert executor.state("added") is NodeState.WAITING
    gate.opened.set()
    await task
    assert recorder.index(events.NodeStarted, "added") > recorder.index(
        events.NodeSucceeded, "holder"
    )


async def test_add_with_taken_uuid_rejected():
    root = make("root")
    executor = TreeExecutor(roots=[root])
    with pytest.raises(ValueError, match="'root'"):
        await executor.add(make("root"), parents=[root])


async def test_add_rejects_non_node_and_no_parents():
    executor = TreeExecutor(roots=[make("root")])
    with pytest.raises(TypeError, match="str"):
        await executor.add("node", parents=["root"])
    with pytest.raises(ValueError, match="at least one parent"):
        await executor.add(make("alone"), parents=[])


async def test_remove_unknown_node_names_it():
    executor = TreeExecutor(roots=[make("root")])
    with pytest.raises(KeyError, match="'ghost'"):
        await executor.remove("ghost")


async def test_remove_waiting_node_detaches_it():
    gate = Gate()
    holder = gated("holder", gate)
    waiting = make("waiting")
    await holder.connect(waiting)
    executor = TreeExecutor(roots=[holder])
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await gate.entered.wait()
    assert await executor.remove("waiting") == ["waiting"]
    gate.opened.set()
    await task
    assert "waiting" not in recorder.started()
    assert holder.children == []
    assert len(recorder.of(events.NodeRemoved, "waiting")) == 1


async def test_remove_running_node_cancels_it_first():
    gate = Gate()
    runner = gated("runner", gate)
    below = make("below")
    await runner.connect(below)
    executor = TreeExecutor(roots=[runner])
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await gate.entered.wait()
    removed = await executor.remove(runner, cascade=True)
    await task
    assert removed == ["runner", "below"]
    kinds = [type(e) for e in recorder.events if e.node_id == "runner"]
    assert kinds.index(events.NodeCancelled) < kinds.index(events.NodeRemoved)
    assert "below" not in recorder.started()
    assert executor.roots == []


async def test_remove_without_cascade_strands_children():
    gate = Gate()
    runner = gated("runner", gate)
    below = make("below")
    await runner.connect(below)
    executor = TreeExecutor(roots=[runner])
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await gate.entered.wait()
    await executor.remove(runner)
    await task
    assert "below" not in recorder.started()
    assert recorder.final_states()["below"] is NodeState.SKIPPED
    assert recorder.of(events.NodeSkipped, "below")[0].reason == "it has no parent left"
    assert below.parents == []


async def test_remove_parent_lets_child_with_done_parents_start():
    gate = Gate()
    done = make("done")
    blocker = gated("blocker", gate)
    child = make("child")
    blocked_parent = make("blocked_parent")
    await done.connect(child)
    await blocker.connect(blocked_parent)
    await blocked_parent.connect(child)
    executor = TreeExecutor(roots=[done, blocker])
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await gate.entered.wait()
    await executor.remove("blocked_parent")
    await wait_for(lambda: recorder.of(events.NodeSucceeded, "child"))
    gate.opened.set()
    await task
    assert recorder.final_states()["child"] is NodeState.SUCCEEDED


@pytest.mark.parametrize("cascade", [False, True])
async def test_remove_never_starts_node(cascade):
    # `joined` waits on a finished parent and a running one. Cutting the
    # edge from the running parent first leaves only a finished parent:
    # the node must not start on its way out.
    gate = Gate()
    root, finished, joined = make("root"), make("finished"), make("joined", nap)
    running = gated("running", gate)
    for parent, child in [(root, finished), (root, running)]:
        await parent.connect(child)
    await running.connect(joined)
    await finished.connect(joined)
    executor = TreeExecutor(roots=[root])
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await gate.entered.wait()
    await wait_for(lambda: recorder.of(events.NodeSucceeded, "finished"))
    assert await executor.remove("joined", cascade=cascade) == ["joined"]
    gate.opened.set()
    await task
    assert recorder.of(events.NodeStarted, "joined") == []
    assert recorder.of(events.NodeRemoved, "joined")


async def test_remove_during_cancel_wait():
    # Removing `top` with cascade cancels it and waits for its task. `top`
    # swallows the cancel and returns, so it succeeds meanwhile; its doomed
    # child `below` must still not start.
    entered = asyncio.Event()

    async def ignores_cancel():
        entered.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return "finished anyway"

    top, below = make("top", ignores_cancel), make("below", nap)
    await top.connect(below)
    executor = TreeExecutor(roots=[top, make("other", nap)])
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await entered.wait()
    removed = await executor.remove("top", cascade=True)
    await task
    assert removed == ["top", "below"]
    assert recorder.of(events.NodeSucceeded, "top")
    assert recorder.of(events.NodeStarted, "below") == []


async def test_cancel_running_node_keeps_run_going():
    gate = Gate()
    runner = gated("runner", gate)
    other = make("other", nap)
    below = make("below")
    await runner.connect(below)
    executor = TreeExecutor(roots=[runner, other])
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await gate.entered.wait()
    assert executor.cancel("runner", reason="user pressed c") is True
    await task
    cancelled = recorder.of(events.NodeCancelled, "runner")
    assert cancelled[0].reason == "user pressed c"
    assert recorder.final_states()["other"] is NodeState.SUCCEEDED
    assert "below" not in recorder.started()
    skipped = recorder.of(events.NodeSkipped, "below")[0]
    assert skipped.reason == "parent 'runner' did not complete (cancelled)"
    assert executor.errors == []


async def test_cancel_before_first_step():
    # "first" and "second" start in the same loop turn; "first" runs first
    # and cancels "second" before the task of "second" has taken a step.
    ran = []

    async def cancel_sibling():
        return executor.cancel("second", reason="beaten to it")

    async def never_runs():
        ran.append("second")

    root, first = make("root"), Node(cancel_sibling, uuid="first")
    await root.connect(first)
    await root.connect(Node(never_runs, uuid="second"))
    executor = TreeExecutor(roots=[root])
    recorder = Recorder(executor)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with asyncio.timeout(5):
            outputs = await executor.run()
        gc.collect()
    assert outputs == [root, first]
    assert first.output is True
    assert ran == []
    assert recorder.of(events.NodeCancelled, "second")[0].reason == "beaten to it"
    assert recorder.final_states()["second"] is NodeState.CANCELLED
    assert executor.errors == []
    assert not [w for w in caught if "never awaited" in str(w.message)]


async def test_cancel_finished_node_is_ignored(caplog):
    gate = Gate()
    executor = TreeExecutor(roots=[make("quick"), gated("holder", gate)])
    task = asyncio.create_task(executor.run())
    await gate.entered.wait()
    assert executor.cancel("quick") is False
    assert "succeeded" in caplog.text
    gate.opened.set()
    await task


async def test_pause_then_step_starts_one_node_at_a_time():
    gate = Gate()
    holder = gated("holder", gate)
    children = [make(f"child{i}") for i in range(3)]
    for child in children:
        await holder.connect(child)
    executor = TreeExecutor(roots=[holder])
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await gate.entered.wait()
    executor.pause()
    gate.opened.set()
    # The root started at once, so only the paused children were queued.
    await wait_for(lambda: len(recorder.of(events.NodeQueued)) == 3)
    assert not recorder.of(events.NodeQueued, "holder")
    assert recorder.started() == ["holder"]
    assert executor.step() == "child0"
    await wait_for(lambda: recorder.of(events.NodeSucceeded, "child0"))
    assert recorder.started() == ["holder", "child0"]
    assert not task.done()
    executor.resume()
    await task
    assert recorder.started() == ["holder", "child0", "child1", "child2"]
    assert len(recorder.of(events.RunPaused)) == 1
    assert len(recorder.of(events.RunResumed)) == 1


async def test_step_when_not_paused_does_nothing():
    gate = Gate()
    executor = TreeExecutor(roots=[gated("holder", gate)])
    task = asyncio.create_task(executor.run())
    await gate.entered.wait()
    assert executor.step() is None
    gate.opened.set()
    await task


async def test_max_workers_limits_running_nodes():
    running = []
    peak = []

    async def tracked():
        running.append(1)
        peak.append(len(running))
        await asyncio.sleep(0.005)
        running.pop()

    root = make("root")
    for i in range(6):
        await root.connect(make(f"w{i}", tracked))
    executor = TreeExecutor(roots=[root], max_workers=2)
    await executor.run()
    assert max(peak) == 2
    assert len(peak) == 6


async def test_max_workers_change_mid_run_takes_effect():
    peak = []

    async def tracked():
        peak.append(executor.running_count)
        await asyncio.sleep(0.005)

    root = make("root")
    for i in range(6):
        await root.connect(make(f"w{i}", tracked))
    executor = TreeExecutor(roots=[root], max_workers=1)
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await wait_for(lambda: recorder.of(events.NodeStarted, "w0"))
    executor.max_workers = 3
    await task
    assert max(peak) == 3
    assert recorder.of(events.MaxWorkersChanged)[0].max_workers == 3


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_invalid_max_workers_rejected(bad):
    with pytest.raises(ValueError, match="max_workers"):
        TreeExecutor(max_workers=bad)


async def test_control_outside_a_run_explains_itself():
    executor = TreeExecutor(roots=[make("root")])
    with pytest.raises(RuntimeError, match="cannot step: .* is not running"):
        executor.step()
    with pytest.raises(RuntimeError, match="cannot read the state of a node"):
        executor.state("root")
    assert executor.running_count == 0
    assert executor.is_paused is False


async def test_pause_before_run_starts_the_run_paused():
    root = make("root")
    await root.connect(make("child"))
    executor = TreeExecutor(roots=[root])
    executor.pause()
    assert executor.is_paused is True
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    await wait_for(lambda: recorder.of(events.NodeQueued, "root"))
    kinds = [type(event) for event in recorder.events]
    assert kinds.index(events.RunPaused) == kinds.index(events.RunStarted) + 1
    assert recorder.started() == []
    assert executor.step() == "root"
    await wait_for(lambda: recorder.of(events.NodeQueued, "child"))
    assert recorder.started() == ["root"]
    executor.resume()
    await task
    assert recorder.started() == ["root", "child"]
    # The pause was for one run: the next starts at once.
    assert executor.is_paused is False
    await executor.run()
    assert len(recorder.of(events.RunPaused)) == 1


async def test_resume_before_run_undoes_pause():
    executor = TreeExecutor(roots=[make("root")])
    executor.pause()
    executor.resume()
    assert executor.is_paused is False
    recorder = Recorder(executor)
    await executor.run()
    assert recorder.of(events.RunPaused) == []
    assert recorder.started() == ["root"]


async def test_cascade_never_removes_a_root_in_a_cycle():
    top = make("top")
    middle = make("middle")
    other = make("other")
    await top.connect(middle)
    await middle.connect(top)
    executor = TreeExecutor(roots=[top, other])
    removed = await executor.remove("middle", cascade=True)
    assert removed == ["middle"]
    assert [root.uuid for root in executor.roots] == ["top", "other"]


def test_roots_single_node_explained():
    with pytest.raises(
        TypeError, match=r"got the node 'lone' alone; pass roots=\[node\]"
    ):
        TreeExecutor(roots=make("lone"))


def test_roots_that_are_not_a_list_are_named():
    with pytest.raises(TypeError, match="got int: 5; pass a list"):
        TreeExecutor(roots=5)


async def test_cascade_removes_cycle_below():
    root = make("root")
    first = make("first")
    second = make("second")
    await root.connect(first)
    await first.connect(second)
    await second.connect(first)
    executor = TreeExecutor(roots=[root])
    removed = await executor.remove("root", cascade=True)
    assert removed == ["root", "first", "second"]


async def test_cascade_keeps_a_child_that_another_root_reaches():
    top = make("top")
    other = make("other")
    shared = make("shared")
    await top.connect(shared)
    await other.connect(shared)
    executor = TreeExecutor(roots=[top, other])
    assert await executor.remove("top", cascade=True) == ["top"]
    assert [parent.uuid for parent in shared.parents] == ["other"]


async def test_cancel_from_a_node_started_subscriber_takes_effect():
    ran: list[str] = []

    async def work():
        ran.append("work")
        await asyncio.sleep(0.01)

    executor = TreeExecutor(roots=[make("starting", work)])
    recorder = Recorder(executor)
    answers: list[bool] = []

    def cancel_on_start(event):
        if isinstance(event, events.NodeStarted):
            answers.append(executor.cancel("starting", reason="changed my mind"))

    executor.subscribe(cancel_on_start)
    await executor.run()
    assert answers == [True]
    assert ran == []  # cancelled before its first step
    cancelled = recorder.of(events.NodeCancelled, "starting")
    assert [event.reason for event in cancelled] == ["changed my mind"]


async def test_failed_runtime_connect_leaves_nothing():
    async def reject_edge():
        raise RuntimeError("on_connect says no")

    added, below = make("added"), make("below")
    await added.connect(below)
    failures: list[str] = []

    async def rewire():
        try:
            await parent.connect(added)
        except RuntimeError as error:
            failures.append(str(error))

    parent = make("parent", rewire, on_connect=(reject_edge, None))
    executor = TreeExecutor(roots=[parent])
    recorder = Recorder(executor)
    await executor.run()
    assert failures == ["on_connect says no"]
    # The edge brought `added` and `below` into the run; both leave again
    # instead of ending as skipped.
    assert [e.node_id for e in recorder.of(events.NodeRemoved)] == ["added", "below"]
    assert recorder.of(events.NodeSkipped) == []
    assert set(recorder.final_states()) == {"parent"}
