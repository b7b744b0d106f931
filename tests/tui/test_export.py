"""Tests of `--events` (JSON Lines) and `--trace` (Chrome trace event format)."""

from __future__ import annotations

import collections
import io
import json
import os
import pathlib
import threading

import pytest

import grafo_core
from grafo_core import events
from grafo_core.events import short_repr
from grafo_tui.cli import main
from grafo_tui.event_log_writer import EventLogWriter
from grafo_tui.export import ExportError, RunExporter
from grafo_tui.export_records import chunk_repr, event_record
from grafo_tui.headless import run_headless
from grafo_tui.loader import LoadSpec
from grafo_tui.pipeline_messages import PipelineEnded
from grafo_tui.runner import PipelineRunner
from grafo_tui.trace_writer import TraceWriter
from grafo_tui.watchdog import LoopBlocked, LoopUnblocked

PIPELINES = pathlib.Path(__file__).parent / "pipelines"
EXPORT_RUNS = PIPELINES / "export_runs.py"
CHUNK_COUNT = 100_000  # export_runs.CHUNK_COUNT
FAN_OUT_CHILDREN = ("child_a", "child_b", "child_c")  # export_runs.FAN_OUT_CHILDREN
CYCLE_RUNS = 3  # export_runs.CYCLE_RUNS

METADATA_NAMES = {
    "process_name",
    "process_sort_index",
    "thread_name",
    "thread_sort_index",
}
ROUNDING = 0.01  # microseconds; ts and dur are rounded to nanoseconds


class Export:
    """The files and counts of one headless run with both export files."""

    def __init__(self, directory: pathlib.Path) -> None:
        self.events_path = directory / "events.jsonl"
        self.trace_path = directory / "trace.json"
        self.subscriber_counts: collections.Counter[str] = collections.Counter()
        self.code: int | None = None
        self._lines: list[dict] | None = None
        self._trace: dict | None = None

    def run(self, spec: LoadSpec) -> Export:
        """Run `spec` headless, counting events with a subscriber of our own."""

        def count(event: events.Event) -> None:
            self.subscriber_counts[type(event).__name__] += 1

        def subscribe(executor: grafo_core.TreeExecutor) -> None:
            executor.subscribe(count)

        stop_observing = grafo_core.observe_runs(subscribe)
        exporter = RunExporter(events_path=self.events_path, trace_path=self.trace_path)
        try:
            self.code = run_headless(
                spec, out=io.StringIO(), err=io.StringIO(), exporter=exporter
            )
        finally:
            stop_observing()
            exporter.close()
        return self

    def lines(self) -> list[dict]:
        """Parse the events file once; every line must be a JSON object."""
        if self._lines is None:
            with self.events_path.open(encoding="utf-8") as file:
                self._lines = [json.loads(line) for line in file]
        return self._lines

    def trace(self) -> dict:
        if self._trace is None:
            with self.trace_path.open(encoding="utf-8") as file:
                self._trace = json.load(file)
        return self._trace

    def trace_events(self) -> list[dict]:
        return self.trace()["traceEvents"]


def node_slices(trace_events: list[dict]) -> list[dict]:
    return [
        item for item in trace_events if item["ph"] == "X" and item["cat"] == "node"
    ]


def slices_of(trace_events: list[dict], node_id: str) -> list[dict]:
    found = [
        item for item in node_slices(trace_events) if item["args"]["node_id"] == node_id
    ]
    return sorted(found, key=lambda item: item["ts"])


def end_of(item: dict) -> float:
    return item["ts"] + item["dur"]


@pytest.fixture(scope="module")
def many_chunks(tmp_path_factory) -> Export:
    directory = tmp_path_factory.mktemp("many_chunks")
    return Export(directory).run(LoadSpec(EXPORT_RUNS, "build_many_chunks"))


@pytest.fixture(scope="module")
def fan_out(tmp_path_factory) -> Export:
    directory = tmp_path_factory.mktemp("fan_out")
    return Export(directory).run(LoadSpec(EXPORT_RUNS, "build_fan_out"))


@pytest.fixture(scope="module")
def cycle(tmp_path_factory) -> Export:
    directory = tmp_path_factory.mktemp("cycle")
    return Export(directory).run(LoadSpec(EXPORT_RUNS, "build_cycle"))


@pytest.fixture(scope="module")
def endings(tmp_path_factory) -> Export:
    directory = tmp_path_factory.mktemp("endings")
    return Export(directory).run(LoadSpec(EXPORT_RUNS, "build_endings"))


# --- events file ----------------------------------------------------------------


def test_events_file_counts_match_subscriber(many_chunks):
    file_counts = collections.Counter(line["type"] for line in many_chunks.lines())
    for name, count in many_chunks.subscriber_counts.items():
        assert file_counts[name] == count, name


def test_events_file_has_every_chunk(many_chunks):
    chunk_lines = [
        line for line in many_chunks.lines() if line["type"] == "ChunkEmitted"
    ]
    assert len(chunk_lines) == CHUNK_COUNT
    assert [line["index"] for line in chunk_lines] == list(range(CHUNK_COUNT))
    assert chunk_lines[-1]["value"] == repr(CHUNK_COUNT - 1)


def test_events_file_only_engine_and_runner_lines(many_chunks):
    engine_lines = sum(many_chunks.subscriber_counts.values())
    lines = many_chunks.lines()
    other_types = {line["type"] for line in lines} - set(many_chunks.subscriber_counts)
    assert other_types == {"PipelineEnded"}
    assert len(lines) == engine_lines + 1


def test_events_lines_have_base_fields(many_chunks):
    for line in many_chunks.lines():
        assert set(line) >= {"type", "run_id", "node_id", "time"}
        assert isinstance(line["time"], float)


def test_events_lines_in_time_order(many_chunks):
    times = [line["time"] for line in many_chunks.lines()]
    assert times == sorted(times)


def test_events_failure_has_traceback(endings):
    failed = [line for line in endings.lines() if line["type"] == "NodeFailed"]
    assert len(failed) == 1
    error = failed[0]["error"]
    assert error["type"] == "ValueError"
    assert error["message"] == "broken on purpose"
    assert error["traceback"].startswith("Traceback (most recent call last):")
    assert "in broken" in error["traceback"]


def test_events_kwargs_and_output_are_reprs(fan_out):
    lines = fan_out.lines()
    started = [line for line in lines if line["type"] == "NodeStarted"]
    child_a = [line for line in started if line["node_id"] == "child_a"]
    assert child_a[0]["kwargs"] == {"name": "'child_a'"}
    succeeded = [line for line in lines if line["type"] == "NodeSucceeded"]
    parent = [line for line in succeeded if line["node_id"] == "parent"]
    assert parent[0]["output"] == "'parent output'"
    assert parent[0]["output_type"] == "str"


def test_events_file_has_runner_messages(tmp_path):
    events_path = tmp_path / "events.jsonl"
    with RunExporter(events_path=events_path) as exporter:
        spec = LoadSpec(PIPELINES / "runner_prints.py", None)
        run_headless(spec, out=io.StringIO(), err=io.StringIO(), exporter=exporter)
    lines = [json.loads(line) for line in events_path.read_text().splitlines()]
    printed = [line for line in lines if line["type"] == "OutputWritten"]
    assert {"text": "to stdout\n", "stream": "stdout"} in [
        {"text": line["text"], "stream": line["stream"]} for line in printed
    ]
    assert {"to stderr\n"} == {
        line["text"] for line in printed if line["stream"] == "stderr"
    }
    # Each line names the node whose code wrote it.
    assert {line["node_id"] for line in printed} == {"talk"}


def test_events_file_has_loop_blocks(tmp_path):
    events_path = tmp_path / "events.jsonl"
    with RunExporter(events_path=events_path) as exporter:
        exporter.handle(LoopBlocked("slow", "pipe.py", 12, "crunch", 5.0))
        exporter.handle(LoopUnblocked("slow", 0.75))
    lines = [json.loads(line) for line in events_path.read_text().splitlines()]
    blocked, unblocked = lines
    assert blocked["type"] == "LoopBlocked"
    assert blocked["node_id"] == "slow"
    assert (blocked["file"], blocked["line"], blocked["function"]) == (
        "pipe.py",
        12,
        "crunch",
    )
    assert blocked["time"] == 5.0
    assert unblocked["type"] == "LoopUnblocked"
    assert unblocked["seconds"] == 0.75


def test_events_file_has_notice(tmp_path):
    events_path = tmp_path / "events.jsonl"
    with RunExporter(events_path=events_path) as exporter:
        spec = LoadSpec(PIPELINES / "load_grafo_alias.py", None)
        run_headless(spec, out=io.StringIO(), err=io.StringIO(), exporter=exporter)
    lines = [json.loads(line) for line in events_path.read_text().splitlines()]
    notices = [line for line in lines if line["type"] == "Notice"]
    assert len(notices) == 1
    assert "grafo_core" in notices[0]["text"]


CHUNK_VALUES = [
    0,
    -12,
    10**80,
    1.5,
    float("nan"),
    True,
    None,
    "plain",
    'quote " and \\ backslash',
    "line\nbreak\ttab",
    "naïve ✓ \U0001f600",
    "x" * 500,
    b"bytes",
    {"key": [1, 2, 3]},
    list(range(100)),
]


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


@pytest.mark.parametrize("value", [*CHUNK_VALUES, BrokenRepr()], ids=short_repr)
def test_chunk_repr_equals_short_repr(value):
    assert chunk_repr(value) == short_repr(value)


@pytest.mark.parametrize("value", [*CHUNK_VALUES, BrokenRepr()], ids=short_repr)
def test_chunk_line_equals_event_record(value):
    stream = io.StringIO()
    writer = EventLogWriter(stream, clock=lambda: 0.0)
    event = events.ChunkEmitted("run-1", "node-1", 12.375, 7, value)
    writer.write(event)
    assert json.loads(stream.getvalue()) == event_record(event)


# --- trace file -----------------------------------------------------------------


def check_required_fields(item: dict) -> None:
    """Assert the fields the trace event format requires for `item`'s phase."""
    assert item["ph"] in {"X", "i", "C", "M"}, item
    assert isinstance(item["name"], str), item
    assert isinstance(item["pid"], int), item
    assert isinstance(item["tid"], int), item
    assert isinstance(item["ts"], int | float), item
    assert isinstance(item.get("args", {}), dict), item
    if item["ph"] == "X":
        assert isinstance(item["dur"], int | float), item
        assert item["dur"] >= 0, item
        assert isinstance(item["cat"], str), item
    elif item["ph"] == "i":
        assert item["s"] in {"g", "p", "t"}, item
    elif item["ph"] == "C":
        assert item["args"], item
        for value in item["args"].values():
            assert isinstance(value, int | float), item
    else:
        assert item["name"] in METADATA_NAMES, item
        key = "name" if item["name"].endswith("_name") else "sort_index"
        assert key in item["args"], item
    if item["ph"] != "M":
        assert item["ts"] >= 0, item


def check_trace(export: Export) -> None:
    trace = export.trace()
    assert trace["displayTimeUnit"] in {"ms", "ns"}
    assert isinstance(trace["traceEvents"], list)
    named_threads = set()
    named_processes = set()
    for item in trace["traceEvents"]:
        check_required_fields(item)
        if item["name"] == "thread_name":
            named_threads.add((item["pid"], item["tid"]))
        if item["name"] == "process_name":
            named_processes.add(item["pid"])
    for item in trace["traceEvents"]:
        if item["ph"] in {"X", "i"}:
            assert (item["pid"], item["tid"]) in named_threads, item
        assert item["pid"] in named_processes, item


@pytest.mark.parametrize("name", ["many_chunks", "fan_out", "cycle", "endings"])
def test_trace_required_fields(name, request):
    check_trace(request.getfixturevalue(name))


def test_trace_instant_per_chunk(many_chunks):
    instants = [item for item in many_chunks.trace_events() if item["ph"] == "i"]
    chunks = [item for item in instants if item["cat"] == "chunk"]
    assert len(chunks) == many_chunks.subscriber_counts["ChunkEmitted"]
    assert len(chunks) == CHUNK_COUNT
    assert {item["s"] for item in chunks} == {"t"}


def test_trace_chunks_inside_slice(many_chunks):
    trace_events = many_chunks.trace_events()
    (node_slice,) = slices_of(trace_events, "count_up")
    chunks = [item for item in trace_events if item["ph"] == "i"]
    assert min(item["ts"] for item in chunks) >= node_slice["ts"]
    assert max(item["ts"] for item in chunks) <= end_of(node_slice) + ROUNDING
    assert {item["tid"] for item in chunks} == {node_slice["tid"]}


def test_trace_slice_has_chunk_count(many_chunks):
    (node_slice,) = slices_of(many_chunks.trace_events(), "count_up")
    assert node_slice["args"]["chunk_count"] == CHUNK_COUNT
    assert node_slice["args"]["state"] == "succeeded"


def test_trace_counter_present(many_chunks):
    counters = [item for item in many_chunks.trace_events() if item["ph"] == "C"]
    values = [item["args"]["running"] for item in counters]
    assert values == [0, 1, 0]


def test_trace_one_slice_per_node_run(fan_out):
    trace_events = fan_out.trace_events()
    names = sorted(item["args"]["node_id"] for item in node_slices(trace_events))
    assert names == sorted(["parent", *FAN_OUT_CHILDREN])
    started = fan_out.subscriber_counts["NodeStarted"]
    assert len(node_slices(trace_events)) == started


def test_trace_parent_ends_before_children(fan_out):
    trace_events = fan_out.trace_events()
    (parent,) = slices_of(trace_events, "parent")
    for child in FAN_OUT_CHILDREN:
        (child_slice,) = slices_of(trace_events, child)
        assert end_of(parent) <= child_slice["ts"] + ROUNDING, child


def test_trace_children_overlap(fan_out):
    trace_events = fan_out.trace_events()
    children = [slices_of(trace_events, child)[0] for child in FAN_OUT_CHILDREN]
    for first in children:
        for second in children:
            assert first["ts"] < end_of(second), (first["name"], second["name"])


def test_trace_lane_per_node(fan_out):
    trace_events = fan_out.trace_events()
    lanes = {item["args"]["node_id"]: item["tid"] for item in node_slices(trace_events)}
    assert len(set(lanes.values())) == len(lanes)
    thread_names = {
        item["tid"]: item["args"]["name"]
        for item in trace_events
        if item["name"] == "thread_name"
    }
    for node_id, tid in lanes.items():
        assert thread_names[tid] == node_id


def test_trace_counter_reaches_children(fan_out):
    counters = [item for item in fan_out.trace_events() if item["ph"] == "C"]
    assert max(item["args"]["running"] for item in counters) == len(FAN_OUT_CHILDREN)
    assert counters[-1]["args"]["running"] == 0


def test_trace_run_slice_covers_nodes(fan_out):
    trace_events = fan_out.trace_events()
    runs = [item for item in trace_events if item["ph"] == "X" and item["cat"] == "run"]
    assert len(runs) == 1
    for item in node_slices(trace_events):
        assert item["ts"] >= runs[0]["ts"]
        assert end_of(item) <= end_of(runs[0]) + ROUNDING


def test_trace_cycle_slices(cycle):
    trace_events = cycle.trace_events()
    for node_id in ("ping", "pong"):
        runs = slices_of(trace_events, node_id)
        assert [item["args"]["attempt"] for item in runs] == [1, 2, 3]
        assert len({item["tid"] for item in runs}) == 1
        for earlier, later in zip(runs, runs[1:], strict=False):
            assert end_of(earlier) <= later["ts"] + ROUNDING


def test_trace_cycle_alternates(cycle):
    ordered = sorted(node_slices(cycle.trace_events()), key=lambda item: item["ts"])
    assert [item["name"] for item in ordered] == ["ping", "pong"] * CYCLE_RUNS


@pytest.mark.parametrize(
    ("node_id", "state"),
    [
        ("canceller", "succeeded"),
        ("broken", "failed"),
        ("slow", "timed_out"),
        ("victim", "cancelled"),
    ],
)
def test_trace_slice_state(endings, node_id, state):
    (node_slice,) = slices_of(endings.trace_events(), node_id)
    assert node_slice["args"]["state"] == state


def test_trace_failed_slice_error(endings):
    (node_slice,) = slices_of(endings.trace_events(), "broken")
    assert node_slice["args"]["error"] == "ValueError: broken on purpose"


def test_trace_cancelled_slice_reason(endings):
    (node_slice,) = slices_of(endings.trace_events(), "victim")
    assert node_slice["args"]["reason"] == "cancelled by a test node"


def test_trace_run_slice_error_count(endings):
    trace_events = endings.trace_events()
    (run,) = [
        item for item in trace_events if item["ph"] == "X" and item["cat"] == "run"
    ]
    assert run["args"]["error_count"] == 2
    assert run["name"] == "endings"


def test_trace_process_per_script_run(tmp_path):
    export = Export(tmp_path).run(LoadSpec(PIPELINES / "runner_two_runs.py", None))
    check_trace(export)
    trace_events = export.trace_events()
    processes = {
        item["pid"]: item["args"]["name"]
        for item in trace_events
        if item["name"] == "process_name"
    }
    assert len(processes) == 2
    assert sorted(name.split(" (")[0] for name in processes.values()) == [
        "run 0",
        "run 1",
    ]


def test_trace_same_executor_twice(tmp_path):
    export = Export(tmp_path).run(LoadSpec(PIPELINES / "export_rerun_script.py", None))
    check_trace(export)
    trace_events = export.trace_events()
    runs = [item for item in trace_events if item["ph"] == "X" and item["cat"] == "run"]
    assert len({item["args"]["run_id"] for item in runs}) == 1
    chunks_per_process = collections.Counter(
        item["pid"] for item in trace_events if item["ph"] == "i"
    )
    assert sorted(chunks_per_process.values()) == [3, 3]
    slices_per_process = collections.Counter(
        item["pid"] for item in node_slices(trace_events)
    )
    assert set(slices_per_process) == set(chunks_per_process)


class KeptStringIO(io.StringIO):
    """A StringIO that stays readable after the writer closes it."""

    def close(self) -> None:
        pass


def test_trace_closes_unfinished_slices():
    stream = KeptStringIO()
    writer = TraceWriter(stream)
    writer.write(events.RunStarted("run-1", None, 10.0, "open", ("a",), None))
    writer.write(
        events.NodeAdded("run-1", "a", 10.0, "a", "a", False, True, None, "m", "")
    )
    writer.write(events.NodeStarted("run-1", "a", 10.5, 1, {"x": 1}))
    writer.close()
    trace = json.loads(stream.getvalue())
    (node_slice,) = node_slices(trace["traceEvents"])
    assert node_slice["args"]["state"] == "unfinished"
    assert node_slice["args"]["kwargs"] == {"x": "1"}


def test_trace_cancel_before_start_is_instant():
    stream = KeptStringIO()
    writer = TraceWriter(stream)
    writer.write(events.RunStarted("run-1", None, 1.0, "", ("a",), None))
    writer.write(events.NodeCancelled("run-1", "a", 1.5, 0.0, "not needed"))
    writer.write(events.RunFinished("run-1", None, 2.0, 0, False))
    writer.close()
    trace_events = json.loads(stream.getvalue())["traceEvents"]
    assert node_slices(trace_events) == []
    instants = [item for item in trace_events if item["ph"] == "i"]
    assert [item["name"] for item in instants] == ["cancelled"]


# --- screen mode ----------------------------------------------------------------


class QueueDrainingApp:
    """Stands in for `GrafoApp`: drains the runner's queue until the pipeline ends."""

    def __init__(self, runner: PipelineRunner) -> None:
        self.runner = runner
        self.return_code: int | None = None

    def run(self) -> None:
        self.runner.start()
        while not isinstance(self.runner.queue.get(timeout=60), PipelineEnded):
            pass
        self.return_code = 0


def test_screen_mode_writes_files(tmp_path, monkeypatch):
    monkeypatch.setattr("grafo_tui.app.GrafoApp", QueueDrainingApp)
    events_path = tmp_path / "events.jsonl"
    trace_path = tmp_path / "trace.json"
    code = main(
        [
            f"{PIPELINES / 'runner_chunks.py'}:build_passing",
            "--events",
            str(events_path),
            "--trace",
            str(trace_path),
        ]
    )
    assert code == 0
    lines = [json.loads(line) for line in events_path.read_text().splitlines()]
    chunk_lines = [line for line in lines if line["type"] == "ChunkEmitted"]
    assert len(chunk_lines) == 5
    trace = json.loads(trace_path.read_text())
    instants = [item for item in trace["traceEvents"] if item["ph"] == "i"]
    assert len(instants) == 5


async def test_screen_app_with_attached_exporter(tmp_path):
    from grafo_tui.app import GrafoApp

    events_path = tmp_path / "events.jsonl"
    exporter = RunExporter(events_path=events_path)
    runner = PipelineRunner(LoadSpec(PIPELINES / "runner_chunks.py", "build_passing"))
    exporter.attach(runner)
    app = GrafoApp(runner)
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(250):
            if runner.finished and runner.queue.empty():
                break
            await pilot.pause(0.02)
        assert runner.finished
    runner.stop()
    exporter.close()
    lines = [json.loads(line) for line in events_path.read_text().splitlines()]
    chunk_lines = [line for line in lines if line["type"] == "ChunkEmitted"]
    assert len(chunk_lines) == 5


def test_exporter_handle_feeds_from_consumer(tmp_path):
    # The app's way: take items off the queue and give each to `handle`.
    events_path = tmp_path / "events.jsonl"
    exporter = RunExporter(events_path=events_path)
    runner = PipelineRunner(LoadSpec(EXPORT_RUNS, "build_cycle"))
    runner.start()
    try:
        while True:
            item = runner.queue.get(timeout=60)
            exporter.handle(item)
            if isinstance(item, PipelineEnded):
                break
    finally:
        runner.stop()
        exporter.close()
    lines = [json.loads(line) for line in events_path.read_text().splitlines()]
    started = [line for line in lines if line["type"] == "NodeStarted"]
    assert len(started) == 2 * CYCLE_RUNS


# --- command line and bad paths -------------------------------------------------


def marker_pipeline(directory: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """Write a pipeline that creates a marker file when it is loaded."""
    marker = directory / "loaded.marker"
    pipeline = directory / "marks.py"
    pipeline.write_text(
        "import pathlib\n"
        f"pathlib.Path({str(marker)!r}).touch()\n"
        "from grafo_core import Node\n"
        "async def work():\n"
        "    return 1\n"
        "def build():\n"
        "    return Node(work)\n"
    )
    return pipeline, marker


@pytest.mark.parametrize("flag", ["--events", "--trace"])
@pytest.mark.parametrize("headless", [True, False])
def test_missing_directory_exits_two(tmp_path, capsys, flag, headless):
    pipeline, marker = marker_pipeline(tmp_path)
    target = tmp_path / "absent" / "out.json"
    args = [str(pipeline), flag, str(target)] + (["--headless"] if headless else [])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"the directory {target.parent} does not exist" in err
    assert not marker.exists()


def test_parent_is_file_exits_two(tmp_path, capsys):
    pipeline, marker = marker_pipeline(tmp_path)
    target = pipeline / "events.jsonl"
    assert main([str(pipeline), "--headless", "--events", str(target)]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert not marker.exists()


def test_directory_as_file_exits_two(tmp_path, capsys):
    pipeline, marker = marker_pipeline(tmp_path)
    assert main([str(pipeline), "--headless", "--trace", str(tmp_path)]) == 2
    assert "it is a directory" in capsys.readouterr().err
    assert not marker.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to any directory")
def test_unwritable_directory_exits_two(tmp_path, capsys):
    pipeline, marker = marker_pipeline(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    args = [str(pipeline), "--headless", "--events", str(locked / "events.jsonl")]
    assert main(args) == 2
    assert "permission denied" in capsys.readouterr().err
    assert not marker.exists()


def test_same_file_twice_exits_two(tmp_path, capsys):
    pipeline, marker = marker_pipeline(tmp_path)
    same = str(tmp_path / "out.json")
    assert main([str(pipeline), "--headless", "--events", same, "--trace", same]) == 2
    assert "both name" in capsys.readouterr().err
    assert not marker.exists()


def test_cli_headless_writes_both(tmp_path, capsys):
    events_path = tmp_path / "events.jsonl"
    trace_path = tmp_path / "trace.json"
    args = [
        f"{PIPELINES / 'runner_chunks.py'}:build_failing",
        "--headless",
        "--events",
        str(events_path),
        "--trace",
        str(trace_path),
    ]
    assert main(args) == 1
    assert "NodeFailed" in capsys.readouterr().out
    lines = [json.loads(line) for line in events_path.read_text().splitlines()]
    assert lines[-1]["type"] == "PipelineEnded"
    assert lines[-1]["failed_nodes"] == 1
    trace = json.loads(trace_path.read_text())
    states = [item["args"]["state"] for item in node_slices(trace["traceEvents"])]
    assert sorted(states) == ["failed", "succeeded"]


def test_cli_load_error_still_closes_trace(tmp_path):
    trace_path = tmp_path / "trace.json"
    args = [str(PIPELINES / "load_builders.py") + ":missing", "--headless"]
    assert main([*args, "--trace", str(trace_path)]) == 2
    assert json.loads(trace_path.read_text())["traceEvents"] == []


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_write_failure_reported_on_close():
    exporter = RunExporter(events_path="/dev/full")
    for index in range(20_000):
        exporter.handle(events.ChunkEmitted("run-1", "a", 1.0, index, "x" * 50))
    with pytest.raises(ExportError, match="No space left"):
        exporter.close()


def test_writer_bug_reported_on_close(tmp_path, monkeypatch):
    def fail(self, message):
        raise TypeError("a bug in the writer")

    monkeypatch.setattr(TraceWriter, "write", fail)
    exporter = RunExporter(trace_path=tmp_path / "trace.json")
    exporter.handle(events.RunPaused("run-1", None, 1.0))
    with pytest.raises(ExportError, match="a bug in the writer"):
        exporter.close()


def test_handle_is_thread_safe(tmp_path):
    events_path = tmp_path / "events.jsonl"
    exporter = RunExporter(events_path=events_path)

    def produce(node_id: str) -> None:
        for index in range(2_000):
            exporter.handle(events.ChunkEmitted("run-1", node_id, 1.0, index, index))

    threads = [threading.Thread(target=produce, args=(f"n{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    exporter.close()
    lines = [json.loads(line) for line in events_path.read_text().splitlines()]
    assert len(lines) == 8_000


def test_close_twice_is_harmless(tmp_path):
    exporter = RunExporter(trace_path=tmp_path / "trace.json")
    exporter.close()
    exporter.close()
    assert json.loads((tmp_path / "trace.json").read_text())["traceEvents"] == []
