"""Write a pipeline's runs to files: every event as JSON Lines, and a Chrome trace.

Both writers consume the items of `PipelineRunner.queue` (engine events and the
runner's messages) one at a time and stream what they produce to their file, so
memory stays bounded however many chunks a run yields. `RunExporter` drives
them for the `--events` and `--trace` options.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import pathlib
import queue
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from grafo_core import events
from grafo_core.events import short_repr
from grafo_tui.runner import Notice, OutputWritten, PipelineEnded, PipelineRunner
from grafo_tui.watchdog import LoopBlocked, LoopUnblocked

logger = logging.getLogger(__name__)

_encode_string = json.encoder.encode_basestring_ascii
_ENCODER = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":"))
_BUFFER_SIZE = 1 << 16
_BASE_FIELDS = frozenset({"run_id", "node_id", "time"})
_REPR_FIELDS = frozenset({"value", "output"})
"""Fields that carry the pipeline's own objects, always written as short reprs."""

_TRACE_REPR_LIMIT = 60
_RUN_TID = 0
"""Trace lane of run-wide events; node lanes are numbered from 1."""


class ExportError(Exception):
    """An export file cannot be opened or written; `str(exc)` is for the user."""


# --- events as JSON Lines ---------------------------------------------------------


def event_record(event: events.Event) -> dict[str, Any]:
    """Return `event` as a JSON-safe dict: type, run_id, node_id, time, own fields.

    Values and outputs become short reprs, exceptions a dict of type, message
    and formatted traceback, and mappings (a node's kwargs) name -> short repr.
    """
    record: dict[str, Any] = {
        "type": type(event).__name__,
        "run_id": event.run_id,
        "node_id": event.node_id,
        "time": event.time,
    }
    for name in _own_field_names(type(event)):
        value = getattr(event, name)
        record[name] = short_repr(value) if name in _REPR_FIELDS else _json_safe(value)
    if isinstance(event, events.NodeSucceeded):
        record["output_type"] = event.output_type
    return record


def message_record(message: Any, now: float) -> dict[str, Any] | None:
    """Return a queue item as a JSON-safe dict, or `None` for items not exported.

    Runner messages have no time of their own and get `now`. `ExecutorAttached`
    is left out because the run's `RunStarted` follows it with the same facts.
    """
    if isinstance(message, events.Event):
        return event_record(message)
    record: dict[str, Any] = {
        "type": type(message).__name__,
        "run_id": None,
        "node_id": None,
        "time": now,
    }
    if isinstance(message, OutputWritten):
        record["text"] = message.text
        record["stream"] = message.stream
    elif isinstance(message, Notice):
        record["text"] = message.text
    elif isinstance(message, PipelineEnded):
        record["error"] = None if message.error is None else str(message.error)
        record["failed_nodes"] = message.failed_nodes
    elif isinstance(message, LoopBlocked):
        # From the blocking detector, which runs only with the screen.
        record["node_id"] = message.node_id
        record["time"] = message.since
        record["file"] = message.file
        record["line"] = message.line
        record["function"] = message.function
    elif isinstance(message, LoopUnblocked):
        record["node_id"] = message.node_id
        record["seconds"] = message.seconds
    else:
        return None
    return record


def exception_record(error: BaseException) -> dict[str, str]:
    """Return the type, message and formatted traceback text of `error`."""
    try:
        message = str(error)
    except Exception:
        message = short_repr(error)
    try:
        text = "".join(traceback.format_exception(error))
    except Exception as exc:  # a broken __str__ deep in a chained exception
        text = f"<traceback unavailable: {type(exc).__name__}>"
    return {"type": _type_name(type(error)), "message": message, "traceback": text}


_PLAIN_TYPES = frozenset({int, float, str, bool, type(None)})


def chunk_repr(value: Any, limit: int = 120) -> str:
    """Return `short_repr(value, limit)`, faster for short ints, floats and strings.

    For these types reprlib returns the builtin repr unchanged when it is at
    most 60 characters long, so the fast path gives the same text.
    """
    if type(value) in _PLAIN_TYPES:
        text = repr(value)
        if len(text) <= min(60, limit):
            return text
    return short_repr(value, limit)


_field_names: dict[type, tuple[str, ...]] = {}


def _own_field_names(cls: type) -> tuple[str, ...]:
    names = _field_names.get(cls)
    if names is None:
        # Engine events are named tuples; runner messages are dataclasses.
        all_names = getattr(cls, "_fields", None) or tuple(
            item.name for item in dataclasses.fields(cls)
        )
        names = tuple(name for name in all_names if name not in _BASE_FIELDS)
        _field_names[cls] = names
    return names


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, BaseException):
        return exception_record(value)
    if isinstance(value, Mapping):
        return {str(key): short_repr(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_json_safe(item) for item in value]
    return short_repr(value)


def _type_name(cls: type) -> str:
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


class EventLogWriter:
    """Write one JSON object per line for each event and runner message."""

    def __init__(self, stream: TextIO, *, clock: Callable[[], float]) -> None:
        self._stream = stream
        self._clock = clock
        self._chunk_starts: dict[tuple[str, str | None], str] = {}
        self.lines = 0
        """Lines written so far."""

    def write(self, message: Any) -> None:
        """Append `message` as one line, unless `message_record` leaves it out."""
        if type(message) is events.ChunkEmitted:
            self._stream.write(self._chunk_line(message))
            self.lines += 1
            return
        record = message_record(message, self._clock())
        if record is None:
            return
        self._stream.write(_ENCODER.encode(record) + "\n")
        self.lines += 1

    def _chunk_line(self, event: events.ChunkEmitted) -> str:
        # Chunks are nearly every line of a long run, so their line is built
        # from a cached start instead of a dict. It is the same JSON object as
        # `event_record` gives, which a test checks.
        key = (event.run_id, event.node_id)
        start = self._chunk_starts.get(key)
        if start is None:
            start = (
                '{"type":"ChunkEmitted","run_id":'
                + _ENCODER.encode(event.run_id)
                + ',"node_id":'
                + _ENCODER.encode(event.node_id)
                + ',"time":'
            )
            self._chunk_starts[key] = start
        value = _encode_string(chunk_repr(event.value))
        return f'{start}{event.time!r},"index":{event.index},"value":{value}}}\n'

    def close(self) -> None:
        """Flush and close the file."""
        self._stream.close()


# --- the Chrome trace -----------------------------------------------------------


@dataclass(slots=True)
class _OpenSlice:
    start: float
    attempt: int
    kwargs: dict[str, str]


@dataclass(slots=True)
class _TraceRun:
    run_id: str
    pid: int
    description: str
    started: float
    last_time: float
    lanes: dict[str, tuple[int, str]] = field(default_factory=dict)
    """Node id -> (tid, label)."""
    open_slices: dict[str, _OpenSlice] = field(default_factory=dict)
    started_args: dict[str, Any] = field(default_factory=dict)
    finished: bool = False


class TraceWriter:
    """Write the runs in the Chrome trace event format, streamed to the file.

    The file is one JSON object, ``{"displayTimeUnit": "ms", "otherData": ...,
    "traceEvents": [...]}``, that Perfetto and chrome://tracing load. Each run
    is a process (`pid`) and each node a thread lane (`tid`) named after its
    label, with lane 0 for the run itself. Each run of a node is a complete
    event (``ph: "X"``) written when the run ends, and its end state is in
    ``args.state``. Chunks are thread-scoped instant events (``ph: "i"``), and
    the number of running nodes is a counter (``ph: "C"``). Times are
    microseconds from the first event the writer received.

    The array is closed by `close()`: until then the file is incomplete.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._origin: float | None = None
        self._runs: dict[str, _TraceRun] = {}
        self._next_pid = 1
        self._chunk_starts: dict[tuple[int, str | None], str] = {}
        self._first = True
        self.event_count = 0
        """Trace events written so far."""
        stream.write(
            '{"displayTimeUnit":"ms",'
            '"otherData":{"generator":"grafo-tui"},'
            '"traceEvents":[\n'
        )

    def write(self, message: Any) -> None:
        """Add what `message` contributes to the trace; runner messages add nothing."""
        if not isinstance(message, events.Event):
            return
        if self._origin is None:
            self._origin = message.time
        if type(message) is events.ChunkEmitted:
            self._chunk(message)
            return
        if isinstance(message, events.RunStarted):
            self._start_run(message)
            return
        run = self._runs.get(message.run_id)
        if run is None:
            run = self._add_run(message.run_id, "", message.time)
        run.last_time = max(run.last_time, message.time)
        self._write_event(run, message)

    def close(self) -> None:
        """End slices and runs that are still open, close the JSON, close the file."""
        for run in self._runs.values():
            if not run.finished:
                self._finish_run(run, run.last_time, {"finished": False})
        self._stream.write("\n]}\n")
        self._stream.close()

    def _write_event(self, run: _TraceRun, event: events.Event) -> None:
        match event:
            case events.NodeAdded():
                self._lane(run, event.node_id, event.label)
            case events.NodeStarted():
                self._open_slice(run, event)
            case (
                events.NodeSucceeded()
                | events.NodeFailed()
                | events.NodeTimedOut()
                | events.NodeCancelled()
            ):
                self._close_slice(run, event)
            case events.NodeSkipped():
                self._instant(run, event, "skipped", {"reason": event.reason})
            case events.RunPaused():
                self._instant(run, event, "paused", {})
            case events.RunResumed():
                self._instant(run, event, "resumed", {})
            case events.MaxWorkersChanged():
                self._instant(
                    run, event, "max_workers", {"max_workers": event.max_workers}
                )
            case events.RunFinished():
                self._finish_run(
                    run,
                    event.time,
                    {"error_count": event.error_count, "cancelled": event.cancelled},
                )

    # --- runs and lanes ---

    def _start_run(self, event: events.RunStarted) -> None:
        run = self._add_run(event.run_id, event.description, event.time)
        run.started_args = {
            "roots": len(event.root_ids),
            "max_workers": event.max_workers,
        }

    def _add_run(self, run_id: str, description: str, now: float) -> _TraceRun:
        previous = self._runs.get(run_id)
        if previous is not None and not previous.finished:
            self._finish_run(previous, previous.last_time, {"finished": False})
        run = _TraceRun(run_id, self._next_pid, description, now, now)
        self._next_pid += 1
        self._runs[run_id] = run
        name = f"{description} ({run_id})" if description else f"run {run_id}"
        self._metadata(run.pid, _RUN_TID, "process_name", {"name": name})
        self._metadata(run.pid, _RUN_TID, "process_sort_index", {"sort_index": run.pid})
        self._metadata(run.pid, _RUN_TID, "thread_name", {"name": "run"})
        self._metadata(run.pid, _RUN_TID, "thread_sort_index", {"sort_index": 0})
        self._counter(run, now)
        return run

    def _lane(self, run: _TraceRun, node_id: str | None, label: str) -> int:
        key = node_id or ""
        lane = run.lanes.get(key)
        if lane is None:
            tid = len(run.lanes) + 1
            run.lanes[key] = (tid, label)
            self._metadata(run.pid, tid, "thread_name", {"name": label})
            self._metadata(run.pid, tid, "thread_sort_index", {"sort_index": tid})
            return tid
        return lane[0]

    def _finish_run(self, run: _TraceRun, end: float, args: dict[str, Any]) -> None:
        for node_id in list(run.open_slices):
            self._end_slice(run, node_id, end, "unfinished", {})
        run.finished = True
        self._emit(
            {
                "name": run.description or "run",
                "cat": "run",
                "ph": "X",
                "ts": self._micros(run.started),
                "dur": self._duration(run.started, end),
                "pid": run.pid,
                "tid": _RUN_TID,
                "args": {"run_id": run.run_id, **run.started_args, **args},
            }
        )

    # --- node slices ---

    def _open_slice(self, run: _TraceRun, event: events.NodeStarted) -> None:
        node_id = event.node_id or ""
        if node_id in run.open_slices:
            self._end_slice(run, node_id, event.time, "unfinished", {})
        run.open_slices[node_id] = _OpenSlice(
            event.time,
            event.attempt,
            dict(event.kwargs_reprs(_TRACE_REPR_LIMIT)),
        )
        self._counter(run, event.time)

    def _close_slice(self, run: _TraceRun, event: events.Event) -> None:
        state = events.STATE_AFTER[type(event)].value
        details = _end_details(event)
        node_id = event.node_id or ""
        if node_id in run.open_slices:
            self._end_slice(run, node_id, event.time, state, details)
        else:
            # Cancelled while ready, or failed in `on_before_run` before the
            # node's NodeStarted: the coroutine never ran, so no slice.
            self._instant(run, event, state, details)

    def _end_slice(
        self,
        run: _TraceRun,
        node_id: str,
        end: float,
        state: str,
        details: dict[str, Any],
    ) -> None:
        opened = run.open_slices.pop(node_id)
        tid = self._lane(run, node_id, node_id)
        args: dict[str, Any] = {
            "node_id": node_id,
            "state": state,
            "attempt": opened.attempt,
        }
        if opened.kwargs:
            args["kwargs"] = opened.kwargs
        args.update(details)
        self._emit(
            {
                "name": run.lanes[node_id][1],
                "cat": "node",
                "ph": "X",
                "ts": self._micros(opened.start),
                "dur": self._duration(opened.start, end),
                "pid": run.pid,
                "tid": tid,
                "args": args,
            }
        )
        self._counter(run, end)

    # --- single trace events ---

    def _instant(
        self, run: _TraceRun, event: events.Event, name: str, args: dict[str, Any]
    ) -> None:
        if event.node_id is None:
            tid = _RUN_TID
            category = "run"
        else:
            tid = self._lane(run, event.node_id, event.node_id)
            category = "chunk" if name == "chunk" else "node"
        self._emit(
            {
                "name": name,
                "cat": category,
                "ph": "i",
                "s": "t",
                "ts": self._micros(event.time),
                "pid": run.pid,
                "tid": tid,
                "args": args,
            }
        )

    def _chunk(self, event: events.ChunkEmitted) -> None:
        # The hot path of a long run: the same instant event as `_instant`
        # would write, from a cached start string.
        run = self._runs.get(event.run_id)
        if run is None:
            run = self._add_run(event.run_id, "", event.time)
        run.last_time = max(run.last_time, event.time)
        key = (run.pid, event.node_id)
        start = self._chunk_starts.get(key)
        if start is None:
            tid = self._lane(run, event.node_id, event.node_id or "")
            start = (
                '{"name":"chunk","cat":"chunk","ph":"i","s":"t",'
                f'"pid":{run.pid},"tid":{tid},"ts":'
            )
            self._chunk_starts[key] = start
        value = _encode_string(chunk_repr(event.value, _TRACE_REPR_LIMIT))
        self._emit_text(
            f"{start}{self._micros(event.time)!r},"
            f'"args":{{"index":{event.index},"value":{value}}}}}'
        )

    def _counter(self, run: _TraceRun, now: float) -> None:
        self._emit(
            {
                "name": "running nodes",
                "cat": "run",
                "ph": "C",
                "ts": self._micros(now),
                "pid": run.pid,
                "tid": _RUN_TID,
                "args": {"running": len(run.open_slices)},
            }
        )

    def _metadata(self, pid: int, tid: int, name: str, args: dict[str, Any]) -> None:
        self._emit(
            {"name": name, "ph": "M", "ts": 0, "pid": pid, "tid": tid, "args": args}
        )

    def _emit(self, trace_event: dict[str, Any]) -> None:
        self._emit_text(_ENCODER.encode(trace_event))

    def _emit_text(self, text: str) -> None:
        if self._first:
            self._first = False
            self._stream.write(text)
        else:
            self._stream.write(",\n" + text)
        self.event_count += 1

    def _micros(self, moment: float) -> float:
        origin = self._origin if self._origin is not None else moment
        return round((moment - origin) * 1e6, 3)

    def _duration(self, start: float, end: float) -> float:
        return max(0.0, round(self._micros(end) - self._micros(start), 3))


def _end_details(event: events.Event) -> dict[str, Any]:
    match event:
        case events.NodeSucceeded():
            return {
                "output": short_repr(event.output, _TRACE_REPR_LIMIT),
                "output_type": event.output_type,
                "chunk_count": event.chunk_count,
            }
        case events.NodeFailed():
            error = exception_record(event.error)
            return {"error": f"{error['type']}: {error['message']}"}
        case events.NodeTimedOut():
            return {"timeout": _json_safe(event.timeout)}
        case events.NodeCancelled():
            return {"reason": event.reason}
    return {}


# --- both files, for the command line and the app --------------------------------


class RunExporter:
    """Feed the runner's queue items to the `--events` and `--trace` writers.

    Open it before the run starts, so a bad path stops the command before any
    work. Then give it every queue item, in queue order, with `handle` (or let
    `attach` do that), and call `close` once the runner has stopped. `handle`
    and `close` may be called from different threads.

    Raises:
        ExportError: A file cannot be opened for writing.
    """

    def __init__(
        self,
        *,
        events_path: str | os.PathLike[str] | None = None,
        trace_path: str | os.PathLike[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.events_path = None if events_path is None else pathlib.Path(events_path)
        self.trace_path = None if trace_path is None else pathlib.Path(trace_path)
        self.event_log: EventLogWriter | None = None
        self.trace: TraceWriter | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._failure: str | None = None

        if self.events_path is not None and self.trace_path is not None:
            if _same_file(self.events_path, self.trace_path):
                raise ExportError(
                    f"--events and --trace both name {self.events_path}; give each "
                    f"its own file."
                )
        try:
            if self.events_path is not None:
                stream = _open_for_writing(self.events_path, "events")
                self.event_log = EventLogWriter(stream, clock=clock)
            if self.trace_path is not None:
                stream = _open_for_writing(self.trace_path, "trace")
                self.trace = TraceWriter(stream)
        except ExportError:
            if self.event_log is not None:
                self.event_log.close()
            raise
        self._open_writers = self._writers()

    @property
    def enabled(self) -> bool:
        """Whether any file is being written."""
        return self.event_log is not None or self.trace is not None

    def handle(self, message: Any) -> None:
        """Write what one queue item contributes to each file.

        Never raises, because with `attach` it runs inside the runner's
        `queue.put`: the first error stops the export and `close` raises it.
        """
        with self._lock:
            if self._closed or self._failure is not None:
                return
            for path, writer in self._open_writers:
                try:
                    writer.write(message)
                except OSError as exc:
                    self._failure = f"writing {path} failed: {exc}"
                    logger.warning("Export stopped: writing %s failed: %s", path, exc)
                    return
                except Exception as exc:
                    self._failure = f"exporting to {path} failed: {exc!r}"
                    logger.exception("Export stopped: exporting to %s failed", path)
                    return

    def close(self) -> None:
        """Finish and close the files; safe to call twice.

        Raises:
            ExportError: A write failed earlier, or finishing a file failed.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for path, writer in self._open_writers:
                try:
                    writer.close()
                except (OSError, ValueError) as exc:
                    if self._failure is None:
                        self._failure = f"finishing {path} failed: {exc}"
            failure = self._failure
        if failure is not None:
            raise ExportError(
                f"grafo-tui: {failure}. The export files may be incomplete."
            )

    def _writers(self) -> list[tuple[pathlib.Path, EventLogWriter | TraceWriter]]:
        writers: list[tuple[pathlib.Path, EventLogWriter | TraceWriter]] = []
        if self.event_log is not None and self.events_path is not None:
            writers.append((self.events_path, self.event_log))
        if self.trace is not None and self.trace_path is not None:
            writers.append((self.trace_path, self.trace))
        return writers

    def attach(self, runner: PipelineRunner) -> None:
        """Make every item that `runner` puts on its queue pass through `handle`.

        Call it before `runner.check()` and `runner.start()`: the runner binds
        `queue.put` when it subscribes to a run, so a later swap is missed.
        Items are handled on the thread that puts them, at the moment they are
        put, and reach the queue's consumer unchanged.
        """
        exporting = _ExportingQueue()
        exporting.exporter = self
        while True:
            try:
                exporting.put(runner.queue.get_nowait())
            except queue.Empty:
                break
        runner.queue = exporting

    def __enter__(self) -> RunExporter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _ExportingQueue(queue.SimpleQueue):  # type: ignore[type-arg]
    """A `SimpleQueue` that shows every item to a `RunExporter` before queueing it."""

    exporter: RunExporter

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        self.exporter.handle(item)
        super().put(item, block, timeout)

    def put_nowait(self, item: Any) -> None:
        self.put(item)


def _open_for_writing(path: pathlib.Path, what: str) -> TextIO:
    """Open `path` for writing, or raise an `ExportError` that gives the reason."""
    start = f"Cannot write the {what} file {path}"
    try:
        return open(path, "w", encoding="utf-8", buffering=_BUFFER_SIZE)
    except FileNotFoundError:
        reason = f"the directory {path.parent} does not exist. Create it first"
    except NotADirectoryError:
        reason = f"a part of {path.parent} is not a directory. Choose another path"
    except IsADirectoryError:
        reason = "it is a directory. Give the name of a file"
    except PermissionError:
        reason = "permission denied. Choose a path in a directory you can write to"
    except OSError as exc:
        reason = f"{exc.strerror or exc}. Choose another path"
    raise ExportError(f"{start}: {reason}.")


def _same_file(first: pathlib.Path, second: pathlib.Path) -> bool:
    try:
        return first.resolve() == second.resolve()
    except OSError:
        return False
