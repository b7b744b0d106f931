"""How a node's task starts and ends: exceptions, contexts, shutdown, copies."""

from __future__ import annotations

import asyncio
import contextvars
import copy
import gc
import logging
import pickle
import sys
import warnings
import weakref

import pytest

from grafo_core import Node, NodeState, TreeExecutor
from tests.core.helpers import Recorder, make, nap, noop

request_id = contextvars.ContextVar("request_id", default="unset")


class Outcome(BaseException):
    """A BaseException that is neither KeyboardInterrupt nor SystemExit, as
    pytest.fail() raises."""


async def raise_generator_exit():
    raise GeneratorExit


async def raise_outcome():
    raise Outcome("ended from inside a node")


async def test_generator_exit_fails_node():
    executor = TreeExecutor(roots=[make("bad", raise_generator_exit)])
    recorder = Recorder(executor)
    async with asyncio.timeout(5):
        await executor.run()
    assert recorder.final_states()["bad"] is NodeState.FAILED
    assert isinstance(executor.errors[0], GeneratorExit)


async def test_base_exception_fails_node_quietly(caplog):
    executor = TreeExecutor(roots=[make("bad", raise_outcome)])
    recorder = Recorder(executor)
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        await executor.run()
        await asyncio.sleep(0)
    assert recorder.final_states()["bad"] is NodeState.FAILED
    assert isinstance(executor.errors[0], Outcome)
    assert [r for r in caplog.records if r.name == "asyncio"] == []


def test_shutdown_ends_started_node():
    executor = TreeExecutor(roots=[make("work")])
    recorder = Recorder(executor)

    async def main():
        # The run's task takes its first step as main() ends, and starts
        # "work"; the shutdown then cancels both before "work" steps.
        asyncio.create_task(executor.run())

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(main())
        gc.collect()
    assert recorder.started() == ["work"]
    assert recorder.final_states()["work"] is NodeState.CANCELLED
    assert not [w for w in caught if "never awaited" in str(w.message)]


async def test_context_var_stays_in_node():
    seen = {}

    async def parent():
        request_id.set("set by parent")

    async def child():
        seen["child"] = request_id.get()

    async def other():
        seen["other"] = request_id.get()

    root = Node(parent, uuid="parent")
    await root.connect(Node(child, uuid="child"))
    # With max_workers=1, "other" waits and starts when "parent" ends.
    executor = TreeExecutor(roots=[root, Node(other, uuid="other")], max_workers=1)
    await executor.run()
    assert seen == {"child": "unset", "other": "unset"}


async def test_node_sees_caller_context():
    seen = []

    async def read():
        seen.append(request_id.get())

    token = request_id.set("caller")
    try:
        await TreeExecutor(roots=[make("reader", read)]).run()
    finally:
        request_id.reset(token)
    assert seen == ["caller"]


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager tasks need 3.12")
async def test_eager_factory_waits_for_nodes():
    loop = asyncio.get_running_loop()
    loop.set_task_factory(asyncio.eager_task_factory)  # type: ignore[attr-defined]
    try:
        root = make("root")
        await root.connect(make("leaf"))
        await root.connect(make("slow", nap))
        outputs = await TreeExecutor(roots=[root]).run()
    finally:
        loop.set_task_factory(None)
    assert sorted(node.uuid for node in outputs) == ["leaf", "root", "slow"]


async def test_zero_timeout_lets_sync_node_finish():
    first = make("first", timeout=0)
    await first.connect(make("second", timeout=0))
    executor = TreeExecutor(roots=[first])
    recorder = Recorder(executor)
    await executor.run()
    assert recorder.final_states() == {
        "first": NodeState.SUCCEEDED,
        "second": NodeState.SUCCEEDED,
    }


async def test_zero_timeout_stops_at_first_await():
    sleeper = make("sleeper", asyncio.sleep, kwargs={"delay": 0.05}, timeout=0)
    executor = TreeExecutor(roots=[sleeper])
    recorder = Recorder(executor)
    await executor.run()
    assert recorder.final_states()["sleeper"] is NodeState.TIMED_OUT


async def test_where_before_and_during_first_step():
    found = {}
    executor: TreeExecutor

    async def first():
        found["second"] = executor.where("second")
        found["first"] = executor.where("first")

    async def second():
        await asyncio.sleep(0)

    executor = TreeExecutor(roots=[make("first", first), make("second", second)])
    await executor.run()
    assert [function for _, _, function in found["second"]] == ["second"]
    assert [function for _, _, function in found["first"]] == ["first"]


async def test_node_task_named_after_node():
    names = []

    async def look():
        names.append(asyncio.current_task().get_name())

    await TreeExecutor(roots=[make("looker", look)]).run()
    assert names == ["looker"]


async def test_transform_reads_fresh_parent_output():
    seen = []

    async def take(value):
        return value

    async def transform(value):
        seen.append(parent.output)
        return value

    async def produce():
        await parent.connect(
            Node(take, uuid="child"), forward="value", on_before_forward=transform
        )
        return "fresh"

    parent = Node(produce, uuid="parent")
    await TreeExecutor(roots=[parent]).run()
    assert seen == ["fresh"]


def test_subclass_property_replaces_slot():
    class Fixed(Node):
        @property
        def timeout(self):
            return 5.0

    node = Fixed(noop, uuid="fixed")
    assert node.timeout == 5.0
    assert copy.copy(node).timeout == 5.0


async def test_node_copy_pickle_and_weakref():
    node = Node(noop, uuid="n", kwargs={"x": 1})
    assert copy.copy(node).uuid == "n"
    assert copy.deepcopy(node).kwargs == {"x": 1}
    assert pickle.loads(pickle.dumps(node)).uuid == "n"
    assert weakref.ref(node)() is node
    typed = Node[str](noop, uuid="typed")
    assert copy.deepcopy(typed).__orig_class__ == Node[str]
