"""Write the runs in the Chrome trace event format, for `--trace`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TextIO

from grafo_core import events
from grafo_core.events import short_repr
from grafo_tui.export_records import (
    ENCODER,
    chunk_repr,
    encode_string,
    exception_record,
    json_safe,
)

_TRACE_REPR_LIMIT = 60
_RUN_TID = 0
"""Trace lane of run-wide events; node lanes are numbered from 1."""


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
        value = encode_string(chunk_repr(event.value, _TRACE_REPR_LIMIT))
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
        self._emit_text(ENCODER.encode(trace_event))

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
            return {"timeout": json_safe(event.timeout)}
        case events.NodeCancelled():
            return {"reason": event.reason}
    return {}
