"""Lifecycle events: every kind is sent, and the stream rebuilds the run."""

from __future__ import annotations

import asyncio
import logging

import pytest

from grafo_core import Node, NodeState, TreeExecutor, events, observe_runs
from tests.core.helpers import Recorder, make, nap


async def explode():
    raise RuntimeError("boom")


async def slow():
    await asyncio.sleep(1)


async def stream():
    yield "x"
    yield "y"


async def takes_value(value):
    return value


async def test_every_event_kind_is_sent():
    gate = asyncio.Event()

    async def wait_gate():
        await gate.wait()

    async def rewire():
        await grower.connect(late)
        await grower.disconnect(late)
        await grower.connect(late)

    root = make("root")
    grower = make("grower", rewire)
    late = make("late")
    waiter = make("waiter", wait_gate)
    victim = make("victim", nap, kwargs={"seconds": 5})
    streamer = make("streamer", stream)
    failing = make("failing", explode)
    after_fail = make("after_fail")
    timing_out = make("timing_out", slow, timeout=0.01)
    for child in (grower, waiter, victim, streamer):
        await root.connect(child)
    await waiter.connect(failing)
    await failing.connect(after_fail)
    await waiter.connect(timing_out)
    executor = TreeExecutor(roots=[root])
    executor.hold_on_error = True
    recorder = Recorder(executor)
    task = asyncio.create_task(executor.run())
    while not recorder.of(events.NodeStarted, "victim"):
        await asyncio.sleep(0.001)
    executor.max_workers = 10
    executor.cancel("victim")
    await executor.remove("victim")
    # Paused, the children of the waiter queue up instead of starting.
    executor.pause()
    gate.set()
    while not recorder.of(events.NodeQueued):
        await asyncio.sleep(0.001)
    executor.resume()
    while not recorder.of(events.RunHeld):
        await asyncio.sleep(0.001)
    executor.retry("failing")
    while len(recorder.of(events.RunHeld)) < 2:
        await asyncio.sleep(0.001)
    executor.release()
    await task
    kinds = {type(event) for event in recorder.events}
    expected = {
        cls
        for cls in vars(events).values()
        if isinstance(cls, type) and issubclass(cls, events.Event)
    } - {events.Event}
    assert expected - kinds == set()


async def test_events_are_immutable_and_carry_run_node_and_time():
    executor = TreeExecutor(uuid="run-1", roots=[make("only")])
    recorder = Recorder(executor)
    await executor.run()
    started = recorder.of(events.NodeStarted, "only")[0]
    assert started.run_id == "run-1"
    assert started.time > 0
    with pytest.raises(AttributeError):
        started.attempt = 2
    assert isinstance(started, events.Event)
    times = [event.time for event in recorder.events]
    assert times == sorted(times)


async def test_started_and_succeeded_carry_arguments_and_output():
    parent = make("parent")
    child = make("child", takes_value)
    await parent.connect(child, forward="value")
    executor = TreeExecutor(roots=[parent])
    recorder = Recorder(executor)
    await executor.run()
    started = recorder.of(events.NodeStarted, "child")[0]
    succeeded = recorder.of(events.NodeSucceeded, "child")[0]
    assert started.kwargs_reprs() == [("value", "'ok'")]
    assert succeeded.output_repr == "'ok'"
    assert succeeded.output_type == "str"
    added = recorder.of(events.NodeAdded, "child")[0]
    assert added.parent_ids == ("parent",)
    assert added.forwards == (("parent", "value"),)
    assert added.forward_from("parent") == "value"


async def test_chunks_are_numbered_and_counted():
    executor = TreeExecutor(roots=[make("streamer", stream)])
    recorder = Recorder(executor)
    await executor.run()
    chunks = recorder.of(events.ChunkEmitted, "streamer")
    assert [(c.index, c.value) for c in chunks] == [(0, "x"), (1, "y")]
    assert recorder.of(events.NodeSucceeded, "streamer")[0].chunk_count == 2


async def test_failed_event_keeps_the_exception():
    executor = TreeExecutor(roots=[make("failing", explode)])
    recorder = Recorder(executor)
    await executor.run()
    failed = recorder.of(events.NodeFailed, "failing")[0]
    assert failed.error is executor.errors[0]
    assert failed.error.__traceback__ is not None
    assert recorder.of(events.RunFinished)[0].error_count == 1


async def test_edges_added_by_node_code_are_reported():
    late = make("late")

    async def grow():
        await root.connect(late)

    root = make("root", grow)
    executor = TreeExecutor(roots=[root])
    recorder = Recorder(executor)
    await executor.run()
    # The new node arrives with its edge; an edge between two nodes that
    # are both in the graph already comes as its own event.
    assert recorder.of(events.NodeAdded, "late")[0].parent_ids == ("root",)
    assert recorder.index(events.NodeStarted, "root") < recorder.index(
        events.NodeAdded, "late"
    )


async def test_raising_subscriber_is_detached_and_run_goes_on(caplog):
    calls = []

    def broken(event):
        calls.append(event)
        raise ValueError("subscriber bug")

    executor = TreeExecutor(roots=[make("a"), make("b")])
    executor.subscribe(broken)
    recorder = Recorder(executor)
    with caplog.at_level(logging.ERROR, logger="grafo_core"):
        results = await executor.run()
    assert len(calls) == 1
    assert len(results) == 2
    assert "subscriber bug" in caplog.text
    assert recorder.of(events.RunFinished)


async def test_unsubscribe_stops_delivery():
    executor = TreeExecutor(roots=[make("a")])
    recorder = Recorder(executor)
    recorder.unsubscribe()
    await executor.run()
    assert recorder.events == []


async def test_observe_runs_sees_executors_before_they_start():
    seen = []

    def on_run(executor):
        seen.append(executor.name)
        executor.subscribe(lambda event: seen.append(type(event).__name__))

    remove = observe_runs(on_run)
    try:
        await TreeExecutor(uuid="watched", roots=[make("a")]).run()
    finally:
        remove()
    await TreeExecutor(uuid="unwatched", roots=[make("b")]).run()
    assert seen[:2] == ["watched", "RunStarted"]
    assert "unwatched" not in seen


async def test_state_after_rebuilds_every_final_state():
    root = make("root")
    bad = make("bad", explode)
    skipped = make("skipped")
    await root.connect(bad)
    await bad.connect(skipped)
    executor = TreeExecutor(roots=[root])
    recorder = Recorder(executor)
    await executor.run()
    assert recorder.final_states() == {
        "root": NodeState.SUCCEEDED,
        "bad": NodeState.FAILED,
        "skipped": NodeState.SKIPPED,
    }


def test_short_repr_survives_hostile_objects():
    class Broken:
        def __repr__(self):
            raise RuntimeError("no repr")

    class Huge:
        def __repr__(self):
            return "x" * 10_000_000

    assert events.short_repr(Broken()).startswith("<Broken instance at 0x")
    assert len(events.short_repr(Huge())) <= 120


def test_node_state_finished_flags():
    assert NodeState.SUCCEEDED.is_finished
    assert NodeState.SKIPPED.is_finished
    assert not NodeState.RUNNING.is_finished
    assert not NodeState.WAITING.is_finished


async def test_no_subscriber_means_no_event_objects(monkeypatch):
    built = []
    original = events.NodeStarted.__init__

    def counting_init(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(events.NodeStarted, "__init__", counting_init)
    await TreeExecutor(roots=[Node(nap)]).run()
    assert built == []


async def test_started_event_shows_lambda_results():
    source = make("source")
    reader = Node(takes_value, uuid="reader", kwargs={"value": lambda: "computed"})
    await source.connect(reader)
    executor = TreeExecutor(roots=[source])
    recorder = Recorder(executor)
    await executor.run()
    started = recorder.of(events.NodeStarted, "reader")[0]
    assert started.kwargs == {"value": "computed"}


async def test_each_edge_follows_both_node_added_events():
    nodes = [make(f"n{i}") for i in range(6)]
    # n5 is reached from n1 first, before its other parent n4 is announced.
    for parent, child in [(0, 1), (0, 2), (2, 3), (3, 4), (1, 5), (4, 5)]:
        await nodes[parent].connect(nodes[child])
    executor = TreeExecutor(roots=[nodes[0]])
    recorder = Recorder(executor)
    await executor.run()
    announced = set()
    edges = set()
    for event in recorder.events:
        if isinstance(event, events.NodeAdded):
            for parent_id in event.parent_ids:
                assert parent_id in announced
                edges.add((parent_id, event.node_id))
            announced.add(event.node_id)
        elif isinstance(event, events.EdgeAdded):
            assert event.parent_id in announced
            assert event.node_id in announced
            edges.add((event.parent_id, event.node_id))
    assert len(edges) == 6
    # n5 came with its edge from n1; the edge from n4 followed n4.
    assert recorder.of(events.NodeAdded, "n5")[0].parent_ids == ("n1",)
    assert [e.parent_id for e in recorder.of(events.EdgeAdded, "n5")] == ["n4"]


async def test_new_node_edge_into_graph_reported():
    shared = make("shared")
    newcomer = make("newcomer")
    await newcomer.connect(shared)  # before the run, outside the graph

    async def grow():
        await root.connect(newcomer)

    root = make("root", grow)
    holder = make("holder", nap)
    await root.connect(holder)
    await holder.connect(shared)
    executor = TreeExecutor(roots=[root])
    recorder = Recorder(executor)
    await executor.run()
    assert recorder.of(events.NodeAdded, "newcomer")[0].parent_ids == ("root",)
    edges = [e.parent_id for e in recorder.of(events.EdgeAdded, "shared")]
    assert edges == ["newcomer"]
    assert recorder.index(events.NodeAdded, "newcomer") < recorder.index(
        events.EdgeAdded, "shared"
    )


async def test_node_added_names_class_and_declared_type():
    class Custom(Node):
        pass

    typed = Node[int](takes_value, uuid="typed", kwargs={"value": 1})
    optional = Node[int | None](takes_value, uuid="optional", kwargs={"value": 1})
    custom = Custom(takes_value, uuid="custom", kwargs={"value": 1})
    executor = TreeExecutor(roots=[typed, optional, custom, make("plain")])
    recorder = Recorder(executor)
    await executor.run()
    described = {
        event.node_id: (event.node_class, event.declared_type)
        for event in recorder.of(events.NodeAdded)
    }
    assert described == {
        "typed": ("Node", "int"),
        "optional": ("Node", "int | None"),
        "custom": ("Custom", ""),
        "plain": ("Node", ""),
    }


def test_short_repr_keeps_dict_keys_in_insertion_order():
    value = {"sku": "apple", "quantity": 3, "urgent": True}
    assert events.short_repr(value) == "{'sku': 'apple', 'quantity': 3, 'urgent': True}"
    many = {f"k{index}": index for index in range(9, 0, -1)}
    assert events.short_repr(many).startswith("{'k9': 9, 'k8': 8")
    assert events.short_repr(many).endswith(", ...}")
