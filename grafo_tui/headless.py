"""Run a pipeline without the screen: one plain line per event, then summaries."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from grafo_core import events
from grafo_core.events import NodeState, OrderedRepr
from grafo_tui.export import RunExporter
from grafo_tui.loader import LoadError, LoadSpec
from grafo_tui.model_handlers import run_title
from grafo_tui.output_capture import OutputWritten
from grafo_tui.pipeline_messages import ExecutorAttached, Notice, PipelineEnded
from grafo_tui.runner import PipelineRunner
from grafo_tui.tracebacks import node_traceback

EXIT_OK = 0
EXIT_NODES_FAILED = 1
EXIT_LOAD_ERROR = 2
EXIT_INTERRUPTED = 130
# The status a shell reports for a process that SIGPIPE killed (128 + 13).
# Python ignores SIGPIPE, so a write to a closed pipe raises BrokenPipeError.
EXIT_OUTPUT_CLOSED = 141

_LABEL_WIDTH = 24
_DETAIL_INDENT = 8 + 2 + _LABEL_WIDTH + 2  # under an event line's kind
_ERROR_MESSAGE_LIMIT = 200
_FAILED_STATES = frozenset({NodeState.FAILED, NodeState.TIMED_OUT})

_value_repr = OrderedRepr()  # dict keys in insertion order
_value_repr.maxstring = 80
_value_repr.maxother = 80
_value_repr.maxlist = 8
_value_repr.maxtuple = 8
_value_repr.maxdict = 6
_value_repr.maxset = 8


def short_repr(value: Any) -> str:
    """Return a repr of `value` cut to about 80 characters, on one line."""
    return escape_control(_value_repr.repr(value))


def escape_control(text: str) -> str:
    """Replace control and other non-printable characters with escapes."""
    if text.isprintable():
        return text
    return "".join(
        character if character.isprintable() else _escape_character(character)
        for character in text
    )


def _escape_character(character: str) -> str:
    code = ord(character)
    if character == "\n":
        return "\\n"
    if character == "\t":
        return "\\t"
    if character == "\r":
        return "\\r"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


@dataclass(slots=True)
class _NodeRecord:
    label: str
    state: NodeState = NodeState.WAITING
    runs: int = 0
    duration: float = 0.0
    chunks: int = 0


@dataclass(slots=True)
class _RunRecord:
    run_id: str
    description: str
    started: float
    nodes: dict[str, _NodeRecord] = field(default_factory=dict)
    finished: events.RunFinished | None = None

    def label(self, node_id: str | None) -> str:
        if node_id is None:
            return self.title()
        record = self.nodes.get(node_id)
        return record.label if record is not None else node_id

    def title(self) -> str:
        """Return ``run NAME (ID)`` as the screen's Log does."""
        return run_title(self.run_id, self.description)


class HeadlessPrinter:
    """Format the runner's messages as plain lines and keep per-run summaries."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self._out = out
        self._err = err
        self.runs: list[_RunRecord] = []
        self.closed_streams: list[TextIO] = []
        """The streams whose reader has gone: a write or flush raised
        BrokenPipeError."""
        self._current: dict[str, _RunRecord] = {}
        self._last_run: _RunRecord | None = None

    @property
    def failed_nodes(self) -> int:
        """Nodes whose last state in their run is failed or timed out."""
        return sum(
            1
            for run in self.runs
            for node in run.nodes.values()
            if node.state in _FAILED_STATES
        )

    def handle(self, message: Any) -> None:
        """Print one message from the runner's queue and fold it into the summary."""
        if isinstance(message, events.Event):
            self._handle_event(message)
        elif isinstance(message, OutputWritten):
            self._print_output(message)
        elif isinstance(message, Notice):
            self._print_line(self._last_run, None, "", "notice", message.text)
        elif isinstance(message, ExecutorAttached):
            pass
        elif isinstance(message, PipelineEnded) and message.error is not None:
            self.print_error(str(message.error))

    def print_error(self, text: str) -> None:
        """Print a message for the user on the error stream."""
        self._write(self._err, text)

    def flush(self) -> None:
        """Flush both streams, so that a closed pipe raises BrokenPipeError here
        and not in the interpreter's final flush of sys.stdout."""
        for stream in (self._out, self._err):
            try:
                stream.flush()
            except BrokenPipeError:
                self.closed_streams.append(stream)
                raise

    def _write(self, stream: TextIO, text: str) -> None:
        try:
            print(text, file=stream)
        except BrokenPipeError:
            self.closed_streams.append(stream)
            raise

    def _handle_event(self, event: events.Event) -> None:
        if isinstance(event, events.RunStarted):
            run = _RunRecord(event.run_id, event.description, event.time)
            self.runs.append(run)
            self._current[event.run_id] = run
        run = self._current.get(event.run_id)
        if run is None:
            run = _RunRecord(event.run_id, "", event.time)
            self.runs.append(run)
            self._current[event.run_id] = run
        self._last_run = run

        if isinstance(event, events.NodeAdded):
            run.nodes[event.node_id or ""] = _NodeRecord(event.label)
        self._fold(run, event)
        if isinstance(event, events.RunFinished):
            run.finished = event
        self._print_line(
            run, event.time, event.node_id, type(event).__name__, describe(event, run)
        )
        if isinstance(event, events.NodeFailed):
            # A CI log has nothing else to go on: show where the node failed.
            for line in node_traceback(event.error).splitlines():
                self._write(self._out, f"{'':{_DETAIL_INDENT}}{escape_control(line)}")

    def _print_output(self, message: OutputWritten) -> None:
        """Print each line a pipeline wrote, with the time and, when the write
        came from a node's code, the node's label."""
        run = self._last_run
        node_id = message.node_id
        if node_id is not None and (run is None or node_id not in run.nodes):
            # Another run, going on beside the last one, has that node.
            for candidate in reversed(self.runs):
                if node_id in candidate.nodes:
                    run = candidate
                    break
        when = message.time or None
        text = message.text[:-1] if message.text.endswith("\n") else message.text
        # Whole lines, as printed: only line breaks split them, and control
        # characters (a carriage return too) show as escapes.
        for line in text.split("\n"):
            self._print_line(
                run, when, node_id or "", message.stream, escape_control(line)
            )

    def _fold(self, run: _RunRecord, event: events.Event) -> None:
        if event.node_id is None:
            return
        record = run.nodes.get(event.node_id)
        if record is None:
            return
        state = events.STATE_AFTER.get(type(event))
        if state is not None:
            record.state = state
        if isinstance(event, events.NodeStarted):
            record.runs += 1
        elif isinstance(event, events.ChunkEmitted):
            record.chunks += 1
        duration = getattr(event, "duration", None)
        if isinstance(duration, float):
            record.duration += duration

    def _print_line(
        self,
        run: _RunRecord | None,
        when: float | None,
        node_id: str | None,
        kind: str,
        detail: str,
    ) -> None:
        """Print one line: the seconds since `run` started, the label of
        `node_id` (the run's title for `None`, nothing for ""), `kind` and
        `detail`."""
        seconds = " " * 8
        label = ""
        if run is not None:
            if when is not None:
                seconds = f"{when - run.started:8.3f}"
            if node_id != "":
                label = run.label(node_id)
        line = f"{seconds}  {escape_control(label):<{_LABEL_WIDTH}}  {kind}"
        if detail:
            line += f"  {detail}"
        self._write(self._out, line)

    def print_summaries(self) -> None:
        """Print a table per run: state counts, then one row per node."""
        for run in self.runs:
            self._write(self._out, "")
            self._write(self._out, _format_summary(run))


def describe(event: events.Event, run: _RunRecord) -> str:
    """Return the short detail printed after an event's kind."""
    match event:
        case events.RunStarted():
            workers = "no limit" if event.max_workers is None else event.max_workers
            return f"{_count(len(event.root_ids), 'root')}, max_workers {workers}"
        case events.RunFinished():
            cancelled = ", cancelled" if event.cancelled else ""
            return f"{_count(event.error_count, 'error')}{cancelled}"
        case events.MaxWorkersChanged():
            return f"max_workers {event.max_workers}"
        case events.NodeAdded():
            kind = "async generator" if event.is_generator else "coroutine"
            root = ", root" if event.is_root else ""
            timeout = "none" if event.timeout is None else f"{event.timeout:g} s"
            text = f"{event.name} ({kind}{root}, timeout {timeout})"
            if event.parent_ids:
                text += ", from " + ", ".join(
                    _edge_text(run, parent_id, event.forward_from(parent_id))
                    for parent_id in event.parent_ids
                )
            return text
        case events.EdgeAdded():
            return "from " + _edge_text(run, event.parent_id, event.forward)
        case events.EdgeRemoved():
            return f"from {escape_control(run.label(event.parent_id))}"
        case events.NodeStarted():
            arguments = ", ".join(
                f"{name}={escape_control(value)}"
                for name, value in event.kwargs_reprs(60)
            )
            return f"attempt {event.attempt}" + (f", {arguments}" if arguments else "")
        case events.ChunkEmitted():
            return f"#{event.index} {short_repr(event.value)}"
        case events.NodeSucceeded():
            chunks = (
                f", {_count(event.chunk_count, 'chunk')}" if event.chunk_count else ""
            )
            return (
                f"{event.duration:.3f} s, {event.output_type} "
                f"{short_repr(event.output)}{chunks}"
            )
        case events.NodeFailed():
            return f"{event.duration:.3f} s, {describe_error(event.error)}"
        case events.NodeTimedOut():
            return f"{event.duration:.3f} s, timeout {event.timeout:g} s"
        case events.NodeCancelled():
            return f"{event.duration:.3f} s, {escape_control(event.reason)}"
        case events.NodeSkipped():
            return escape_control(event.reason)
    return ""


def describe_error(error: BaseException) -> str:
    """Return "Type: message (note) (note)" for an error, on one line.

    The notes name the hook or lambda that raised, when the engine added
    them. A message longer than `_ERROR_MESSAGE_LIMIT` characters is cut, and
    a `__str__` that raises is reported instead of propagating.
    """
    try:
        message = str(error)
    except Exception as exc:
        message = f"<str() of the error raised {type(exc).__name__}>"
    if len(message) > _ERROR_MESSAGE_LIMIT:
        message = message[: _ERROR_MESSAGE_LIMIT - 3] + "..."
    text = f"{type(error).__name__}: {message}"
    notes = getattr(error, "__notes__", None)
    if isinstance(notes, list):
        for note in notes:
            if isinstance(note, str):
                text += f" ({note})"
    return escape_control(text)


def _format_summary(run: _RunRecord) -> str:
    title = f"Run {run.run_id}"
    if run.description:
        title += f" ({escape_control(run.description)})"
    if run.finished is None:
        title += ": did not finish"
    elif run.finished.cancelled:
        title += ": cancelled"

    counts: dict[NodeState, int] = {}
    for node in run.nodes.values():
        counts[node.state] = counts.get(node.state, 0) + 1
    count_text = ", ".join(
        f"{counts[state]} {state.value.replace('_', ' ')}"
        for state in NodeState
        if state in counts
    )

    header = ("node", "state", "runs", "duration", "chunks")
    rows = [
        (
            escape_control(node.label),
            node.state.value.replace("_", " "),
            str(node.runs),
            f"{node.duration:.3f} s",
            str(node.chunks),
        )
        for node in run.nodes.values()
    ]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(5)]
    lines = [title, f"{_count(len(run.nodes), 'node')}: {count_text or 'none'}", ""]
    for row in [header, *rows]:
        cells = [
            row[column].ljust(widths[column])
            if column < 2
            else row[column].rjust(widths[column])
            for column in range(5)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def run_headless(
    spec: LoadSpec,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    exporter: RunExporter | None = None,
) -> int:
    """Run the pipeline of `spec` and print its events as plain lines.

    When the reader of `out` or `err` goes away (`grafo-tui --headless ... |
    head`), the run is stopped because its output has no reader left, and
    the closed stream's file descriptor is pointed at os.devnull.

    Args:
        spec: What to load.
        out: Where event lines and summaries go; `sys.stdout` by default.
        err: Where load errors and "interrupted" go; `sys.stderr` by default.
        exporter: Receives every queue item as it is put, when given. The
            caller closes it after this function returns.

    Returns:
        0 when no node failed or timed out, 1 when some did, 2 for a load
        error, 130 when interrupted with Ctrl+C, 141 when the reader of the
        output went away first.
    """
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    # No screen uses the terminal, so the pipeline may read standard input.
    runner = PipelineRunner(spec, reads_input=True)
    if exporter is not None and exporter.enabled:
        exporter.attach(runner)
    printer = HeadlessPrinter(out, err)
    try:
        status = _run_and_print(runner, printer)
        printer.flush()
    except BrokenPipeError:
        runner.stop()
        _discard_further_output(printer.closed_streams)
        return EXIT_OUTPUT_CLOSED
    return status


def _run_and_print(runner: PipelineRunner, printer: HeadlessPrinter) -> int:
    try:
        try:
            runner.check()
        except LoadError as exc:
            _drain(runner, printer)
            printer.print_error(str(exc))
            return EXIT_LOAD_ERROR

        runner.start()
        ended = _wait_until_ended(runner, printer)
    except KeyboardInterrupt:
        runner.stop()
        try:
            _drain(runner, printer)
            printer.flush()
        except BrokenPipeError:
            # Ctrl+C in `grafo-tui --headless ... | tail` ends the reader too,
            # but the interruption is what ended the run.
            _discard_further_output(printer.closed_streams)
        printer.print_error("interrupted")
        return EXIT_INTERRUPTED

    runner.stop()
    _drain(runner, printer)
    printer.print_summaries()
    if ended.error is not None:
        return EXIT_LOAD_ERROR
    if printer.failed_nodes or ended.failed_nodes:
        return EXIT_NODES_FAILED
    return EXIT_OK


def _discard_further_output(streams: list[TextIO]) -> None:
    """Point the file descriptor of each stream at os.devnull.

    Python flushes sys.stdout and sys.stderr at exit, and text still buffered
    for a closed pipe would raise BrokenPipeError again there. Redirecting the
    descriptor is what the documentation of Python's signal module advises for
    SIGPIPE. A stream without a descriptor, such as `io.StringIO`, is skipped.
    """
    for stream in streams:
        try:
            descriptor = stream.fileno()
        except (OSError, ValueError):
            continue
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, descriptor)
        finally:
            os.close(devnull)


def _wait_until_ended(
    runner: PipelineRunner, printer: HeadlessPrinter
) -> PipelineEnded:
    while True:
        message = runner.queue.get()
        printer.handle(message)
        if isinstance(message, PipelineEnded):
            return message


def _drain(runner: PipelineRunner, printer: HeadlessPrinter) -> None:
    while not runner.queue.empty():
        printer.handle(runner.queue.get())


def _edge_text(run: _RunRecord, parent_id: str, forward: str | None) -> str:
    shown = escape_control(run.label(parent_id))
    return f"{shown} (forward to {forward!r})" if forward else shown


def _count(number: int, noun: str) -> str:
    """Return ``"1 chunk"`` or ``"3 chunks"``."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
