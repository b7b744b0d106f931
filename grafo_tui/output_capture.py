"""Capture what a pipeline prints: writes from its thread become messages."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from grafo_core import current_node_id


@dataclass(frozen=True, slots=True)
class OutputWritten:
    """Text that the pipeline printed, from the pipeline thread.

    `text` is one or more whole lines, or a partial line that was flushed.
    """

    text: str
    stream: str
    """"stdout" or "stderr"."""
    node_id: str | None = None
    """The node whose code wrote the text (see `grafo_core.current_node_id`),
    or `None` for the script's own code."""
    time: float = 0.0
    """`time.monotonic()` when the text was sent."""


class OutputRoute:
    """The destination of one thread's writes.

    Text without a line break waits for the rest of its line, one buffer per
    stream and node, so lines that concurrent nodes write piece by piece are
    not mixed and each is sent with the node that wrote it.
    """

    def __init__(self, put: Callable[[Any], None], *, reads_input: bool) -> None:
        self.put = put
        # The unfinished line of each (stream, node id) pair.
        self.partial: dict[tuple[str, str | None], str] = {}
        # Whether the last text sent for each stream ended a line.
        self.line_ended = {"stdout": True, "stderr": True}
        self.reads_input = reads_input
        """Whether the thread may read sys.stdin, true when no screen uses the
        terminal."""

    def write(self, stream: str, text: str) -> None:
        node_id = current_node_id()
        key = (stream, node_id)
        pending = self.partial.pop(key, "") + text
        head, newline, tail = pending.rpartition("\n")
        if tail:
            self.partial[key] = tail
        if newline:
            self._send(head + newline, stream, node_id)
            self.line_ended[stream] = True

    def flush(self, stream: str) -> None:
        """Send the unfinished line that the current node (or the script's
        own code) wrote on `stream`: the code called `sys.stdout.flush()`."""
        self._flush_key((stream, current_node_id()))

    def flush_node(self, node_id: str) -> None:
        """Send what a node that ended left unfinished, on both streams."""
        self._flush_key(("stdout", node_id))
        self._flush_key(("stderr", node_id))

    def flush_all(self) -> None:
        """Send every unfinished line, as at the end of a pass."""
        for key in list(self.partial):
            self._flush_key(key)

    def end_line(self, stream: str) -> None:
        """End the current line of `stream`, if text is waiting on it."""
        self.flush(stream)
        if not self.line_ended[stream]:
            self._send("\n", stream, current_node_id())
            self.line_ended[stream] = True

    def _flush_key(self, key: tuple[str, str | None]) -> None:
        text = self.partial.pop(key, "")
        if text:
            self._send(text, key[0], key[1])
            self.line_ended[key[0]] = False

    def _send(self, text: str, stream: str, node_id: str | None) -> None:
        self.put(OutputWritten(text, stream, node_id, time.monotonic()))


_routes: dict[int, OutputRoute] = {}
_routes_lock = threading.Lock()


class _ThreadOutputProxy:
    """A `sys.stdout` / `sys.stderr` stand-in that routes writes by thread.

    Writes from a thread registered in `_routes` become `OutputWritten`
    messages, and every other thread writes to the stream that was installed
    before the proxy. Textual replaces `sys.stdout` while an app runs and puts
    its own saved stream back at exit, so the proxy never assumes it is still
    installed: `_uninstall_proxies` unwraps it only where it is found.
    """

    def __init__(self, inner: Any, stream: str) -> None:
        self._inner = inner
        self._stream = stream

    @property
    def inner(self) -> Any:
        """The stream that writes from unregistered threads go to."""
        return self._inner

    def write(self, text: str) -> int:
        route = _routes.get(threading.get_ident())
        if route is None:
            return self._inner.write(text)
        route.write(self._stream, text)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        route = _routes.get(threading.get_ident())
        if route is None:
            self._inner.flush()
        else:
            route.flush(self._stream)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


INPUT_MESSAGE = (
    "the pipeline asked for input, but grafo-tui's screen owns the terminal; "
    "put the value in the file or an environment variable, or run with "
    "--headless, where input() reads standard input"
)


class _ThreadInputProxy:
    """A `sys.stdin` stand-in: a registered thread whose route does not read
    input gets EOFError; other threads read on.

    While the screen is up the terminal is in raw mode and its keys belong to
    the app, so a pipeline's `input()` would wait forever for a line.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    @property
    def inner(self) -> Any:
        """The stream that unregistered threads read from."""
        return self._inner

    def _check(self) -> None:
        route = _routes.get(threading.get_ident())
        if route is not None and not route.reads_input:
            # The prompt `input()` wrote ends its line here, or the next
            # print would join it.
            route.end_line("stdout")
            raise EOFError(INPUT_MESSAGE)

    def fileno(self) -> int:
        # `input()` reads the terminal directly when stdin has the console's
        # file descriptor; raising here makes it call readline() instead.
        self._check()
        return self._inner.fileno()

    def read(self, *args: Any) -> str:
        self._check()
        return self._inner.read(*args)

    def readline(self, *args: Any) -> str:
        self._check()
        return self._inner.readline(*args)

    def readlines(self, *args: Any) -> list[str]:
        self._check()
        return self._inner.readlines(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _install_route(thread_id: int, route: OutputRoute) -> None:
    with _routes_lock:
        _wrap_streams()
        _routes[thread_id] = route


def reinstall_proxies() -> None:
    """Wrap `sys.stdout` / `sys.stderr` again if someone replaced them meanwhile."""
    with _routes_lock:
        if _routes:
            _wrap_streams()


def route_pipeline_writes(stream: Any, name: str) -> Any:
    """Return `stream` wrapped so that writes from a pipeline thread go to
    its route; `name` is "stdout" or "stderr"."""
    if isinstance(stream, _ThreadOutputProxy):
        return stream
    return _ThreadOutputProxy(stream, name)


def _wrap_streams() -> None:
    for stream in ("stdout", "stderr"):
        current = getattr(sys, stream)
        if not isinstance(current, _ThreadOutputProxy):
            setattr(sys, stream, _ThreadOutputProxy(current, stream))
    if sys.stdin is not None and not isinstance(sys.stdin, _ThreadInputProxy):
        sys.stdin = _ThreadInputProxy(sys.stdin)


def remove_route(thread_id: int) -> None:
    with _routes_lock:
        _routes.pop(thread_id, None)
        if _routes:
            return
        for stream in ("stdout", "stderr"):
            current = getattr(sys, stream)
            while isinstance(current, _ThreadOutputProxy):
                current = current.inner
            # Only a proxy on top is taken away. One that someone else wrapped
            # (Textual while its app runs) routes nothing now that no thread
            # is registered, and goes when that owner restores its stream.
            if isinstance(getattr(sys, stream), _ThreadOutputProxy):
                setattr(sys, stream, current)
        if isinstance(sys.stdin, _ThreadInputProxy):
            sys.stdin = sys.stdin.inner


@contextlib.contextmanager
def captured_output(put: Callable[[Any], None], *, reads_input: bool = False) -> Any:
    """Turn what the current thread prints into `OutputWritten` messages.
    Its `input()` raises EOFError unless `reads_input`."""
    thread_id = threading.get_ident()
    route = OutputRoute(put, reads_input=reads_input)
    _install_route(thread_id, route)
    try:
        yield route
    finally:
        route.flush("stdout")
        route.flush("stderr")
        remove_route(thread_id)
