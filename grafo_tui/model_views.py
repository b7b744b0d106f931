"""Display records of a run (nodes, log lines, loop blocks) and text helpers."""

from __future__ import annotations

import functools
import os
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import grafo_core
from grafo_core.events import NodeState, short_repr

NODE_COLOURS = 6
"""Number of colours that log lines cycle through, one per node in added order."""

_LIBRARY_DIRS = tuple(
    sysconfig.get_paths()[name] for name in ("stdlib", "purelib", "platlib")
)

_LIBRARY_CODE_DIRS = tuple(
    os.path.normcase(os.path.realpath(path)) + os.sep
    for path in {
        *(sysconfig.get_paths()[name] for name in ("stdlib", "platstdlib")),
        *(sysconfig.get_paths()[name] for name in ("purelib", "platlib")),
        os.path.dirname(grafo_core.__file__),
        os.path.dirname(__file__),
    }
)
"""The standard library, site-packages, grafo_core and grafo_tui: code that
is not the pipeline's own."""

RETRYABLE = frozenset({NodeState.FAILED, NodeState.TIMED_OUT, NodeState.CANCELLED})
"""States from which `TreeExecutor.retry` runs a node again."""

_CONTROL_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


@dataclass(slots=True)
class RunSpan:
    """One run of a node: from `NodeStarted` to the event that ended it."""

    start: float
    end: float | None = None
    """`None` while the node runs."""
    state: NodeState = NodeState.RUNNING
    """The state the run ended in, or `RUNNING`."""


@dataclass(slots=True)
class NodeView:
    """Everything the screen shows about one node of the current run."""

    node_id: str
    label: str
    name: str = ""
    is_generator: bool = False
    is_root: bool = False
    timeout: float | None = None
    source: str = ""
    node_class: str = "Node"
    declared_type: str = ""
    """The type a typed node's values must have, or "" for an untyped node."""
    colour: int = 0
    state: NodeState = NodeState.WAITING
    parents: dict[str, str | None] = field(default_factory=dict)
    """Parent id -> the parameter its output is forwarded to, or `None`."""
    children: list[str] = field(default_factory=list)
    kwargs: tuple[tuple[str, str], ...] = ()
    kwarg_types: dict[str, str] = field(default_factory=dict)
    """Keyword argument name -> type name of the value the last run received."""
    output_repr: str | None = None
    output_type: str | None = None
    chunk_count: int = 0
    """Chunks of the current or last run."""
    runs: int = 0
    completions: int = 0
    """Successful runs; a child may start once each parent has one."""
    ready_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    duration: float | None = None
    error: BaseException | None = None
    error_text: str | None = None
    """The formatted traceback of `error`."""
    end_reason: str | None = None
    """The reason the node was cancelled, skipped or timed out."""
    spans: list[RunSpan] = field(default_factory=list)
    """Every run of the node in this run, oldest first."""
    blocked_at: str | None = None
    """``file:line`` where the node blocks the event loop now, or `None`."""
    has_breakpoint: bool = False
    fault: str | None = None
    """The fault armed for the node's next run, described for the user."""
    awaiting: tuple[tuple[str, int, str], ...] = ()
    """``(file, line, function)`` frames of the running node, innermost last."""

    def elapsed(self, now: float) -> float | None:
        """Return the duration of the last run, or of the current one so far."""
        if self.state is NodeState.RUNNING and self.started_at is not None:
            return max(0.0, now - self.started_at)
        return self.duration


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of the chunk log.

    Attributes:
        time: Seconds since the start of the run the line belongs to.
        node_id: The node concerned, or `None` for run-wide lines.
        label: The node's label, or "" for run-wide lines.
        text: The text to show; control characters are already escaped.
        kind: "chunk", "result", "error", "warning", "graph" (a node or
            edge added or an edge removed during the run, or a node removed
            after an error), "skipped" (see `grafo_tui.skipped_lines`) or
            "run".
        colour: The node's colour index, below `NODE_COLOURS`.
    """

    time: float
    node_id: str | None
    label: str
    text: str
    kind: str
    colour: int = 0


class OtherRun(NamedTuple):
    """A run that started while another run is on screen."""

    description: str
    started_at: float


@dataclass(frozen=True, slots=True)
class LoopBlock:
    """Node code that blocks the pipeline's event loop now.

    Attributes:
        node_id: The blocking node, or `None` when the loop's thread is
            outside node code.
        location: ``file:line`` of the blocking call, the file shortened.
        function: The function that contains the line.
        since: `time.monotonic()` when the block was first seen.
    """

    node_id: str | None
    location: str
    function: str
    since: float


@functools.lru_cache(maxsize=1024)
def is_library_file(file: str) -> bool:
    """Return whether `file` is in the standard library, site-packages,
    grafo_core or grafo_tui, after resolving symbolic links."""
    path = os.path.normcase(os.path.realpath(file))
    return path.startswith(_LIBRARY_CODE_DIRS)


def innermost_user_frame(frames: Sequence[tuple[str, int, str]]) -> int:
    """Return the index of the innermost ``(file, line, function)`` frame
    outside library code (see `is_library_file`), frames innermost last.

    Returns the innermost frame's index when every frame is library code,
    and -1 for no frames.
    """
    for index in range(len(frames) - 1, -1, -1):
        if not is_library_file(frames[index][0]):
            return index
    return len(frames) - 1


def short_location(file: str, line: int) -> str:
    """Return ``file:line`` with `file` relative to the working directory, or
    to the standard library or site-packages, when it is below one of them."""
    if not file:
        return "unknown location"
    for base in (os.getcwd(), *_LIBRARY_DIRS):
        try:
            relative = os.path.relpath(file, base)
        except ValueError:  # another drive on Windows
            continue
        if not relative.startswith(".."):
            return f"{relative}:{line}"
    return f"{file}:{line}"


def escape_control(text: str) -> str:
    """Return `text` with control characters written as backslash escapes."""
    if text.isprintable():
        return text
    parts = []
    for char in text:
        if char in _CONTROL_ESCAPES:
            parts.append(_CONTROL_ESCAPES[char])
        elif not char.isprintable() and char != " ":
            parts.append(f"\\x{ord(char):02x}" if ord(char) < 256 else repr(char)[1:-1])
        else:
            parts.append(char)
    return "".join(parts)


MAX_CHUNK_TEXT = 8_000
"""Characters of one chunk shown in the log; the rest is cut with a marker.
A value that is not a string shows a repr of at most `MAX_REPR_TEXT`."""

MAX_REPR_TEXT = 2_000


def format_chunk(value: Any) -> str:
    """Return the log text of a chunk value: strings as they are, else a short
    repr. A repr that raises is replaced by a placeholder, and the text is cut
    to `MAX_CHUNK_TEXT` characters."""
    if isinstance(value, str):
        text = value
    else:
        text = short_repr(value, MAX_REPR_TEXT)
    if len(text) > MAX_CHUNK_TEXT:
        text = f"{text[:MAX_CHUNK_TEXT]}... ({len(text):,} characters)"
    return escape_control(text)


def error_message(error: BaseException) -> str:
    """Return the message of `error` for a notification, control characters
    escaped, even when its `__str__` raises.

    A `KeyError` with one argument gives that argument as it is: `str()` of a
    KeyError is the `repr` of its key, which puts quotes around a sentence.
    """
    try:
        if isinstance(error, KeyError) and len(error.args) == 1:
            message = str(error.args[0])
        else:
            message = str(error)
    except Exception as exc:  # a broken __str__ must not break the screen
        message = f"<str() failed: {type(exc).__name__}>"
    return escape_control(message)


def error_summary(error: BaseException) -> str:
    """Return ``Type: message`` for an error, even when its `__str__` raises."""
    try:
        message = str(error)
    except Exception as exc:  # a broken __str__ must not break the screen
        message = f"<str() failed: {type(exc).__name__}>"
    return escape_control(f"{type(error).__name__}: {message}")
