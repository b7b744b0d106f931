"""Tests of the display model folded from engine events."""

from __future__ import annotations

import asyncio
from typing import NamedTuple

import grafo_core
from grafo_core import Node, TreeExecutor, events
from grafo_core.events import NodeState
from grafo_tui.model import (
    RunModel,
    error_message,
    escape_control,
    format_chunk,
    innermost_user_frame,
)

RUN = "run-1"


def started(roots=("a",), max_workers=None, time=100.0):
    return events.RunStarted(RUN, None, time, "demo run", tuple(roots), max_workers)


def added(node_id, *, root=False, generator=False, time=100.0):
    return events.NodeAdded(
        RUN, node_id, time, node_id, f"f_{node_id}", generator, root, 60.0, "m", ""
    )


def edge(parent_id, child_id, forward=None):
    return events.EdgeAdded(RUN, child_id, 100.0, parent_id, forward)


def build(*edges, roots=("a",)):
    """Return a model of a graph given as (parent, child) pairs."""
    model = RunModel()
    model.apply(started(roots))
    ids = list(dict.fromkeys([*roots, *(i for pair in edges for i in pair)]))
    for node_id in ids:
        model.apply(added(node_id, root=node_id in roots))
    for parent_id, child_id in edges:
        model.apply(edge(parent_id, child_id))
    return model


def succeed(model, node_id, time=101.0, output=1):
    model.apply(events.NodeQueued(RUN, node_id, time - 0.5))
    model.apply(events.NodeStarted(RUN, node_id, time - 0.4, 1, {"x": 1}))
    return model.apply(events.NodeSucceeded(RUN, node_id, time, 0.4, output, 0))


def test_added_nodes_wait():
    model = build(("a", "b"))
    assert model.nodes["b"].state is NodeState.WAITING
    assert model.nodes["b"].parents == {"a": None}
    assert model.nodes["a"].children == ["b"]


def test_state_follows_events():
    model = build(("a", "b"))
    model.apply(events.NodeQueued(RUN, "a", 100.1))
    assert model.nodes["a"].state is NodeState.READY
    model.apply(events.NodeStarted(RUN, "a", 100.2, 1, {"x": 1}))
    assert model.nodes["a"].state is NodeState.RUNNING
    assert model.running_count == 1
    model.apply(events.NodeSucceeded(RUN, "a", 100.7, 0.5, 42, 0))
    node = model.nodes["a"]
    assert node.state is NodeState.SUCCEEDED
    assert node.output_repr == "42"
    assert node.duration == 0.5
    assert node.kwargs == (("x", "1"),)
    assert node.ready_at == 100.1
    assert node.started_at == 100.2
    assert node.finished_at == 100.7
    assert model.running_count == 0


def test_success_produces_result_line():
    model = build()
    line = succeed(model, "a", time=102.0, output="done")
    assert line.kind == "result"
    assert line.text == "-> 'done'"
    assert line.time == 2.0
    assert line.label == "a"


def test_chunks_counted_and_logged():
    model = build(roots=("g",))
    model.apply(events.NodeStarted(RUN, "g", 100.0, 1, {}))
    lines = [
        model.apply(events.ChunkEmitted(RUN, "g", 100.1 + i, i, f"t{i}"))
        for i in range(3)
    ]
    assert [line.text for line in lines] == ["t0", "t1", "t2"]
    assert model.nodes["g"].chunk_count == 3


def test_chunk_text_escapes_control_characters():
    assert format_chunk("a\nb\x1b[31m") == "a\\nb\\x1b[31m"


def test_chunk_of_other_type_uses_repr():
    assert format_chunk({"k": 1}) == "{'k': 1}"


def test_escape_keeps_printable_text():
    assert escape_control("[bold]x[/]") == "[bold]x[/]"


def test_failure_keeps_traceback():
    model = build()
    try:
        raise ValueError("broken input")
    except ValueError as error:
        failure = error
    model.apply(events.NodeStarted(RUN, "a", 100.0, 1, {}))
    line = model.apply(events.NodeFailed(RUN, "a", 100.5, 0.5, failure))
    node = model.nodes["a"]
    assert node.state is NodeState.FAILED
    assert "ValueError: broken input" in node.error_text
    assert "Traceback" in node.error_text
    assert line.kind == "error"
    assert model.failed_ids == ["a"]


def test_max_running_kept():
    model = build(roots=("a", "b"))
    model.apply(events.NodeStarted(RUN, "a", 100.0, 1, {}))
    model.apply(events.NodeStarted(RUN, "b", 100.0, 1, {}))
    model.apply(events.NodeSucceeded(RUN, "a", 100.5, 0.5, 1, 0))
    assert model.running_count == 1
    assert model.max_running == 2


def test_removed_node_leaves_graph():
    model = build(("a", "b"), ("b", "c"))
    version = model.structure_version
    model.apply(events.EdgeRemoved(RUN, "b", 101.0, "a"))
    model.apply(events.EdgeRemoved(RUN, "c", 101.0, "b"))
    model.apply(events.NodeRemoved(RUN, "b", 101.0))
    assert "b" not in model.nodes
    assert model.nodes["a"].children == []
    assert model.nodes["c"].parents == {}
    assert model.structure_version > version


def test_edge_removed_logged_on_child():
    model = build(("a", "b"))
    line = model.apply(events.EdgeRemoved(RUN, "b", 101.0, "a"))
    assert line is not None
    assert line.node_id == "b"
    assert line.text == "edge from a removed"
    assert line.kind == "graph"


def test_top_level_lists_roots_then_orphans():
    model = build(("a", "b"))
    model.apply(events.EdgeRemoved(RUN, "b", 101.0, "a"))
    assert model.top_level_ids() == ["a", "b"]


def test_orphans_of_removal_skip_shared_children():
    # a -> b -> c, a -> d -> c, b -> e: removing b orphans only e.
    model = build(("a", "b"), ("b", "c"), ("a", "d"), ("d", "c"), ("b", "e"))
    assert model.orphaned_by_removal("b") == ["e"]


def test_orphans_of_removal_follow_chains():
    model = build(("a", "b"), ("b", "c"), ("c", "d"))
    assert model.orphaned_by_removal("b") == ["c", "d"]


def test_orphans_of_removal_end_on_cycles():
    model = build(("a", "b"), ("b", "c"), ("c", "b"))
    assert model.orphaned_by_removal("b") == ["c"]


def test_orphans_of_removal_never_include_a_root():
    model = build(("a", "b"), ("b", "a"))
    assert model.orphaned_by_removal("b") == []


def test_why_waiting_names_parents():
    model = build(("a", "c"), ("b", "c"), roots=("a", "b"))
    succeed(model, "a")
    model.apply(events.NodeStarted(RUN, "b", 101.0, 1, {}))
    text = model.why_not_running("c")
    assert "b (running)" in text
    assert "a (" not in text


def test_why_ready_while_paused():
    model = build()
    model.apply(events.RunPaused(RUN, None, 100.0))
    model.apply(events.NodeQueued(RUN, "a", 100.0))
    assert "paused" in model.why_not_running("a")


def test_why_ready_at_worker_limit():
    model = build(roots=("a", "b"))
    model.apply(events.MaxWorkersChanged(RUN, None, 100.0, 1))
    model.apply(events.NodeStarted(RUN, "a", 100.0, 1, {}))
    model.apply(events.NodeQueued(RUN, "b", 100.0))
    assert "max_workers" in model.why_not_running("b")


def test_why_stopped_by_failure():
    model = build(("a", "b"), roots=("a", "x"))
    model.apply(events.NodeStarted(RUN, "x", 100.0, 1, {}))
    model.apply(events.NodeFailed(RUN, "x", 100.5, 0.5, RuntimeError("no")))
    assert "x failed" in model.why_not_running("b")


def test_why_without_parent():
    model = build(("a", "b"))
    model.apply(events.EdgeRemoved(RUN, "b", 101.0, "a"))
    assert "no parent" in model.why_not_running("b")


def test_why_running():
    model = build()
    model.apply(events.NodeStarted(RUN, "a", 100.0, 1, {}))
    assert model.why_not_running("a") == "It is running."


def test_counts_per_state():
    model = build(("a", "b"), ("a", "c"))
    succeed(model, "a")
    counts = model.counts()
    assert counts[NodeState.SUCCEEDED] == 1
    assert counts[NodeState.WAITING] == 2


def test_elapsed_stops_at_finish():
    model = build()
    model.apply(events.RunFinished(RUN, None, 103.0, 0, False))
    assert model.elapsed(now=500.0) == 3.0


def test_rerun_of_node_counts_attempts():
    model = build()
    succeed(model, "a")
    model.apply(events.NodeQueued(RUN, "a", 102.0))
    model.apply(events.NodeStarted(RUN, "a", 102.1, 2, {}))
    assert model.nodes["a"].runs == 2
    assert model.nodes["a"].duration is None


class FutureEvent(NamedTuple):
    """An event type this version of the model does not know."""

    run_id: str
    node_id: str | None
    time: float


def test_unknown_event_ignored():
    model = RunModel()
    assert model.apply(FutureEvent(RUN, None, 1.0)) is None


def test_node_added_brings_its_edges_and_forwards():
    model = build(("a", "b"))
    model.apply(
        events.NodeAdded(
            RUN,
            "c",
            100.0,
            "c",
            "f",
            False,
            False,
            None,
            "",
            "",
            ("a", "b"),
            (("b", "value"),),
        )
    )
    assert model.nodes["c"].parents == {"a": None, "b": "value"}
    assert model.nodes["a"].children == ["b", "c"]
    assert model.nodes["b"].children == ["c"]


def test_ready_time_without_queue():
    model = build(("a", "b"))
    model.apply(events.NodeStarted(RUN, "a", 100.2, 1, {}))
    assert model.nodes["a"].ready_at == 100.2
    model.apply(events.NodeQueued(RUN, "b", 100.5))
    model.apply(events.NodeStarted(RUN, "b", 100.9, 1, {}))
    assert model.nodes["b"].ready_at == 100.5
    assert model.nodes["b"].started_at == 100.9


def test_held_line_uses_the_short_run_title():
    model = RunModel()
    long_id = "5deeac13-3345-4a5b-8b3c-76b29f98aae1"
    model.apply(events.RunStarted(long_id, None, 100.0, "demo run", ("a",), None))
    reason = "kept open\x1b"
    line = model.apply(events.RunHeld(long_id, None, 101.0, reason))
    assert line is not None
    shown = escape_control(reason)
    assert shown != reason
    assert line.text == f"run demo run (5deeac13) held: {shown}"


def test_dict_output_keeps_insertion_order():
    model = build()
    order = {"sku": "apple", "quantity": 3, "weight_kg": 1.5, "urgent": True}
    line = succeed(model, "a", output=order)
    expected = "{'sku': 'apple', 'quantity': 3, 'weight_kg': 1.5, 'urgent': True}"
    assert model.nodes["a"].output_repr == expected
    assert line.text == f"-> {expected}"


def test_kwargs_and_chunks_keep_dict_order():
    model = build(roots=("g",))
    value = {"z": 1, "a": 2}
    model.apply(events.NodeStarted(RUN, "g", 100.0, 1, {"order": value}))
    line = model.apply(events.ChunkEmitted(RUN, "g", 100.1, 0, value))
    assert model.nodes["g"].kwargs == (("order", "{'z': 1, 'a': 2}"),)
    assert line.text == "{'z': 1, 'a': 2}"


def cancel_while_held(model, node_id, reason="cancelled from grafo-tui"):
    model.apply(events.NodeStarted(RUN, node_id, 100.5, 1, {}))
    model.apply(events.NodeCancelled(RUN, node_id, 100.8, 0.3, reason))
    model.apply(events.RunHeld(RUN, None, 100.9, f"kept open to retry {node_id!r}"))


def test_why_held_after_cancel():
    model = build(("a", "b"))
    cancel_while_held(model, "a")
    text = model.why_not_running("b")
    assert text.startswith("The run is held because a was cancelled")
    assert "Waiting for parents to finish" not in text


def test_why_child_of_cancelled_parent():
    model = build(("a", "c"), roots=("a", "b"))
    model.apply(events.NodeStarted(RUN, "b", 100.1, 1, {}))
    model.apply(events.NodeStarted(RUN, "a", 100.1, 1, {}))
    model.apply(events.NodeCancelled(RUN, "a", 100.3, 0.2, "stop"))
    text = model.why_not_running("c")
    assert text == (
        "Its parent a was cancelled, so it starts only once that parent is retried (t)."
    )


def test_why_names_failure_and_timeout():
    model = build(("a", "b"), roots=("a", "x", "y"))
    model.apply(events.NodeStarted(RUN, "x", 100.0, 1, {}))
    model.apply(events.NodeStarted(RUN, "y", 100.0, 1, {}))
    model.apply(events.NodeFailed(RUN, "x", 100.5, 0.5, RuntimeError("no")))
    model.apply(events.NodeTimedOut(RUN, "y", 100.6, 0.6, 0.6))
    text = model.why_not_running("b")
    assert text == "No new node starts because x failed and y timed out."


def test_why_joins_many_failures_with_and():
    roots = ("a", "w", "x", "y", "z")
    model = build(("a", "b"), roots=roots)
    for node_id in roots[1:]:
        model.apply(events.NodeStarted(RUN, node_id, 100.0, 1, {}))
        model.apply(events.NodeFailed(RUN, node_id, 100.5, 0.5, RuntimeError()))
    text = model.why_not_running("b")
    assert text == "No new node starts because w, x, y and 1 more failed."


def test_reset_clears_last_attempt():
    model = build()
    model.apply(events.NodeStarted(RUN, "a", 100.2, 1, {}))
    model.apply(events.NodeFailed(RUN, "a", 100.7, 0.5, ValueError("bad")))
    model.apply(events.NodeReset(RUN, "a", 101.0, "retry of 'a'"))
    model.apply(events.NodeQueued(RUN, "a", 101.0))
    node = model.nodes["a"]
    assert node.state is NodeState.READY
    assert node.error is None
    assert node.error_text is None
    assert node.started_at is None
    assert node.finished_at is None
    assert node.duration is None
    assert node.ready_at == 101.0
    assert node.end_reason == "retry of 'a'"
    assert node.runs == 1


def test_requeue_clears_last_attempt():
    model = build()
    model.apply(events.NodeStarted(RUN, "a", 100.2, 1, {}))
    model.apply(events.NodeCancelled(RUN, "a", 100.2, 0.0, "stop"))
    model.apply(events.NodeQueued(RUN, "a", 101.0))
    node = model.nodes["a"]
    assert node.duration is None
    assert node.started_at is None
    assert node.end_reason is None


def test_initial_graph_gives_no_graph_lines():
    model = RunModel()
    lines = [
        model.apply(started(roots=("a",))),
        model.apply(added("a", root=True)),
        model.apply(added("b")),
        model.apply(edge("a", "b")),
    ]
    assert [line for line in lines[1:] if line is not None] == []


def test_edge_added_during_run_logged_on_child():
    model = build(("a", "b"), ("b", "c"))
    model.apply(events.NodeStarted(RUN, "a", 100.1, 1, {}))
    line = model.apply(edge("c", "b", forward="reply"))
    assert line is not None
    assert line.node_id == "b"
    assert line.text == "edge from c added, forwards to reply"
    assert line.kind == "graph"


def test_node_added_during_run_logged():
    model = build()
    model.apply(events.NodeQueued(RUN, "a", 100.1))
    added_later = events.NodeAdded(
        RUN, "n", 101.0, "n", "f", False, False, None, "", "", ("a",)
    )
    line = model.apply(added_later)
    assert line is not None
    assert line.node_id == "n"
    assert line.text == "added under a"
    assert line.kind == "graph"


def test_why_retried_nodes_still_start():
    model = build(("y", "c"), ("a", "b"), roots=("a", "x", "y"))
    for node_id in ("x", "y"):
        model.apply(events.NodeStarted(RUN, node_id, 100.0, 1, {}))
        model.apply(events.NodeFailed(RUN, node_id, 100.5, 0.5, RuntimeError()))
    model.apply(events.NodeSkipped(RUN, "c", 100.5, "parent 'y' failed"))
    model.apply(events.RunPaused(RUN, None, 100.6))
    model.apply(events.NodeReset(RUN, "y", 100.7, "retry of 'y'"))
    model.apply(events.NodeReset(RUN, "c", 100.7, "retry of 'y'"))
    model.apply(events.NodeQueued(RUN, "y", 100.7))
    assert "paused" in model.why_not_running("y")
    assert model.why_not_running("c").startswith("Waiting for parents to finish")
    assert model.why_not_running("b") == "No new node starts because x failed."


async def test_traceback_starts_at_the_node_code():
    async def broken():
        raise ValueError("broken input")

    executor = TreeExecutor(roots=[Node(broken, uuid="a")])
    model = RunModel()
    executor.subscribe(model.apply)
    await executor.run()
    text = model.nodes["a"].error_text
    frames = [line for line in text.splitlines() if line.lstrip().startswith("File")]
    assert frames
    assert __file__ in frames[0]
    assert "grafo_core" not in text
    assert text.endswith("ValueError: broken input")


def test_chosen_run_ids_are_shown_whole():
    model = RunModel()
    line = model.apply(events.RunStarted("nightly-import-A", None, 1.0, "", (), None))
    assert line is not None
    assert line.text == "run nightly-import-A started"


def test_pause_and_resume_are_logged():
    model = build()
    paused = model.apply(events.RunPaused(RUN, None, 101.0, "paused by the caller"))
    resumed = model.apply(events.RunResumed(RUN, None, 102.0))
    assert paused is not None
    assert paused.text == "run demo run (run-1) paused: paused by the caller"
    assert resumed is not None
    assert resumed.text == "run demo run (run-1) resumed"


def test_orphans_of_removal_include_a_cycle_below():
    model = build(("a", "b"), ("b", "c"), ("c", "b"), roots=("a",))
    assert model.orphaned_by_removal("a") == ["b", "c"]


def test_error_message_of_key_error():
    sentence = "no node with uuid 'x' in executor 'e'; check the id"
    assert error_message(KeyError(sentence)) == sentence
    assert error_message(KeyError(5)) == "5"
    assert error_message(KeyError("a", "b")) == "('a', 'b')"


def test_error_message_of_other_errors():
    assert error_message(ValueError("bad\nvalue")) == "bad\\nvalue"
    assert error_message(ValueError("plain")) == "plain"


def test_innermost_user_frame_skips_library():
    library = (asyncio.tasks.__file__, 649, "sleep")
    engine = (grafo_core.__file__, 1, "_drive")
    pipeline = ("/project/pipeline.py", 12, "fetch")
    helper = ("/project/helpers.py", 30, "wait_for")
    assert innermost_user_frame([engine, pipeline, helper, library]) == 2
    assert innermost_user_frame([pipeline, library, library]) == 0
    assert innermost_user_frame([engine, library]) == 1  # all library
    assert innermost_user_frame([]) == -1
