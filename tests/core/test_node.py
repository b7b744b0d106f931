"""Node construction, connecting, forwarding, callbacks and typed nodes."""

from __future__ import annotations

import asyncio
import functools
import logging

import pytest

from grafo_core import Chunk, Node, TreeExecutor, auto_forward_candidates
from grafo_core.errors import (
    AutoForwardError,
    ForwardingOverrideError,
    ForwardingParameterError,
    MismatchChunkType,
    NotAsyncCallableError,
    SafeExecutionError,
)
from tests.core.helpers import make, nap, noop


async def takes_value(value):
    return value


async def takes_two(a, b):
    return a, b


async def takes_any(**kwargs):
    return kwargs


async def count_to(n):
    for i in range(n):
        yield i


def test_plain_function_rejected():
    def not_async():
        return 1

    with pytest.raises(NotAsyncCallableError, match="not_async"):
        Node(not_async)


def test_uuid_defaults_to_random_and_label_is_readable():
    first = Node(noop)
    second = Node(noop)
    assert first.uuid != second.uuid
    assert len(first.uuid) == 36
    assert first.label == f"noop-{first.uuid[:8]}"
    assert make("named").label == "named"


@pytest.mark.parametrize("bad", ["soon", -1.0, True])
def test_invalid_timeout_rejected(bad):
    with pytest.raises((TypeError, ValueError), match=repr(bad)):
        Node(noop, timeout=bad)


def test_kwargs_must_be_a_dict():
    with pytest.raises(TypeError, match="list"):
        Node(noop, kwargs=[1, 2])


def test_chunk_generic_alias_constructs():
    chunk = Chunk[int]("a", 1)
    assert chunk.output == 1
    assert chunk.uuid == "a"
    with pytest.raises(AttributeError):
        chunk.output = 2


async def test_connect_rejects_non_node():
    parent = make("parent")
    with pytest.raises(TypeError, match="str"):
        await parent.connect("child")


async def test_auto_forward_picks_only_free_parameter():
    parent = make("parent", noop)
    child = make("child", takes_value)
    await parent.connect(child, forward=Node.AUTO)
    await TreeExecutor(roots=[parent]).run()
    assert child.output == "ok"
    assert child.kwargs == {"value": "ok"}


async def test_auto_forward_with_two_candidates_names_them():
    parent = make("parent")
    with pytest.raises(AutoForwardError, match=r"found 2 \(a, b\); pass one") as caught:
        await parent.connect(make("child", takes_two), forward=Node.AUTO)
    assert "forward='a'" in str(caught.value)


def test_auto_forward_candidates_skip_kwargs():
    async def step(a, b=1, *args, c, d=2, **rest):
        return a

    assert auto_forward_candidates(step, {}) == ["a", "b", "c", "d"]
    assert auto_forward_candidates(step, {"a": 0, "b": 0, "d": 0}) == ["c"]


async def test_auto_forward_into_partial():
    async def add(x, y=1):
        return x + y

    parent = make("parent", nap)
    child = make("child", functools.partial(add, y=3))
    await parent.connect(child, forward=Node.AUTO)
    await TreeExecutor(roots=[parent]).run()
    assert child.output == 0.01 + 3


async def test_auto_forward_mismatch_names_a_partial():
    async def two(a, b):
        return a

    with pytest.raises(AutoForwardError, match=r"functools\.partial\(.*two\)"):
        await make("parent").connect(
            make("child", functools.partial(two)), forward=Node.AUTO
        )


async def test_forward_into_positional_only_rejected():
    async def takes(a, /, b):
        return a

    with pytest.raises(ForwardingParameterError, match="positional-only"):
        await make("parent").connect(make("child", takes), forward="a")


async def test_auto_forward_with_no_candidate_fails():
    parent = make("parent")
    child = make("child", takes_value, kwargs={"value": 1})
    with pytest.raises(AutoForwardError, match="has none to receive") as caught:
        await parent.connect(child, forward=Node.AUTO)
    # No parameter is left to name, so the advice is to drop forward=.
    assert "connect without forward=" in str(caught.value)


async def test_forward_into_set_kwarg_is_override_error():
    child = make("child", takes_value, kwargs={"value": 1})
    with pytest.raises(ForwardingOverrideError, match="'value'"):
        await make("parent").connect(child, forward="value")


async def test_forward_into_unknown_parameter_fails():
    with pytest.raises(ForwardingParameterError, match="'missing'"):
        await make("parent").connect(make("child", takes_value), forward="missing")


async def test_forward_into_var_keyword_is_allowed():
    parent = make("parent")
    child = make("child", takes_any)
    await parent.connect(child, forward="anything")
    await TreeExecutor(roots=[parent]).run()
    assert child.output == {"anything": "ok"}


async def test_forward_of_other_type_is_type_error():
    with pytest.raises(TypeError, match="42"):
        await make("parent").connect(make("child", takes_value), forward=42)


async def test_before_forward_positional_and_keyword_forms():
    async def upper(value, suffix):
        return value.upper() + suffix

    async def wrap(*, forward_data):
        return [forward_data]

    parent = make("parent")
    first = make("first", takes_value)
    second = make("second", takes_value)
    await parent.connect(
        first, forward="value", on_before_forward=(upper, {"suffix": "!"})
    )
    await parent.connect(second, forward="value", on_before_forward=wrap)
    await TreeExecutor(roots=[parent]).run()
    assert first.output == "OK!"
    assert second.output == ["ok"]


async def test_before_forward_without_usable_parameter_is_type_error():
    async def bad(*, other):
        return other

    with pytest.raises(TypeError, match="forward_data"):
        await make("parent").connect(
            make("child", takes_value), forward="value", on_before_forward=bad
        )


async def test_lambda_kwargs_are_evaluated_at_run_time():
    source = make("source")
    reader = make("reader", takes_value, kwargs={"value": lambda: source.output})
    await source.connect(reader)
    await TreeExecutor(roots=[source]).run()
    assert reader.output == "ok"


async def test_callbacks_run_in_order_with_fixed_kwargs():
    calls = []

    async def record(tag):
        calls.append(tag)

    node = make(
        "node",
        on_before_run=(record, {"tag": "before"}),
        on_after_run=(record, {"tag": "after"}),
        on_connect=(record, {"tag": "connect"}),
        on_disconnect=(record, {"tag": "disconnect"}),
    )
    child = make("child")
    await node.connect(child)
    await node.disconnect(child)
    await node.run()
    assert calls == ["connect", "disconnect", "before", "after"]


async def test_sync_callback_raises_not_async_error_when_called():
    node = make("node", on_before_run=(lambda: None, None))
    with pytest.raises(NotAsyncCallableError, match="on_before_run"):
        await node.run()


async def test_callback_error_names_the_callback():
    async def explode():
        raise RuntimeError("boom")

    node = make("node", on_after_run=(explode, None))
    with pytest.raises(RuntimeError) as caught:
        await node.run()
    assert "on_after_run of node 'node'" in caught.value.__notes__[0]


async def test_failed_on_connect_leaves_no_edge():
    async def reject_edge():
        raise RuntimeError("not now")

    parent, child = make("parent", on_connect=(reject_edge, None)), make("child")
    with pytest.raises(RuntimeError, match="not now"):
        await parent.connect(child)
    assert parent.children == []
    assert child.parents == []


async def test_disconnect_of_non_child_warns(caplog):
    with caplog.at_level(logging.WARNING, logger="grafo_core"):
        await make("parent").disconnect(make("stranger"))
    assert "stranger" in caplog.text


async def test_redirect_replaces_all_three_children():
    parent = make("parent")
    old = [make(f"old{i}") for i in range(3)]
    new = [make("new0"), make("new1")]
    for child in old:
        await parent.connect(child)
    await parent.redirect(new)
    assert parent.children == new
    assert all(not child.parents for child in old)


async def test_level_grows_with_depth():
    root, middle, leaf = make("root"), make("middle"), make("leaf")
    await root.connect(middle)
    await middle.connect(leaf)
    assert leaf.metadata.level == 2
    assert "level=2" in repr(leaf)


async def test_output_and_aggregated_output_fit_the_node_kind():
    plain = make("plain")
    stream = make("stream", count_to, kwargs={"n": 3})
    await plain.run()
    await stream.run()
    assert plain.output == "ok"
    assert stream.aggregated_output == [0, 1, 2]
    with pytest.raises(NotAsyncCallableError):
        plain.aggregated_output  # noqa: B018
    with pytest.raises(NotAsyncCallableError):
        stream.output  # noqa: B018


async def test_run_yielding_wraps_values_in_chunks():
    stream = make("stream", count_to, kwargs={"n": 2})
    chunks = [chunk async for chunk in stream.run_yielding()]
    assert chunks == [Chunk("stream", 0), Chunk("stream", 1)]


async def test_setting_attribute_while_running_is_rejected():
    seen = []

    async def mutate_self():
        try:
            node.timeout = 1
        except SafeExecutionError as error:
            seen.append(error)

    node = make("node", mutate_self)
    await node.run()
    assert len(seen) == 1
    assert "'timeout'" in str(seen[0])
    node.timeout = 5
    assert node.timeout == 5


async def test_typed_node_rejects_wrong_return():
    async def number():
        return 3

    node = Node[str](number, uuid="typed")
    with pytest.raises(MismatchChunkType, match=r"Node\[str\].*int"):
        await node.run()


async def test_typed_node_mismatch_names_the_type_as_written():
    async def text():
        return "s"

    with pytest.raises(MismatchChunkType, match=r"Node\[int \| None\] but"):
        await Node[int | None](text, uuid="optional").run()


async def test_typed_node_rejects_wrong_yield_and_wrong_chunk():
    async def yields_int():
        yield 1

    async def yields_chunk():
        yield Chunk("x", 2.5)

    with pytest.raises(MismatchChunkType, match="int"):
        await Node[str](yields_int, uuid="ints").run()
    with pytest.raises(MismatchChunkType, match="float"):
        await Node[str](yields_chunk, uuid="chunks").run()


async def test_typed_node_accepts_matching_values():
    async def words():
        yield "a"
        yield Chunk("words", "b")

    node = Node[str](words, uuid="words")
    assert await node.run() == ["a", Chunk("words", "b")]


async def test_untyped_node_logs_nothing(caplog):
    with caplog.at_level(logging.DEBUG, logger="grafo_core"):
        await make("plain").run()
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_library_installs_no_log_handler():
    assert logging.getLogger("grafo_core").handlers == []


async def test_timeout_of_plain_node_raises_timeout_error():
    async def slow():
        await asyncio.sleep(1)

    with pytest.raises(TimeoutError, match="'slow'"):
        await make("slow", slow, timeout=0.01).run()


async def test_failing_lambda_kwarg_names_its_key_and_node():
    node = make("node", takes_value, kwargs={"value": lambda: 1 / 0})
    with pytest.raises(ZeroDivisionError) as caught:
        await node.run()
    assert "'value' in kwargs of node 'node'" in caught.value.__notes__[0]
