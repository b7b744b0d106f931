"""Write a pipeline's runs to files: every event as JSON Lines, and a Chrome trace.

Both writers consume the items of `PipelineRunner.queue` (engine events and the
runner's messages) one at a time and stream what they produce to their file, so
memory stays bounded however many chunks a run yields. `RunExporter` drives
them for the `--events` and `--trace` options.
"""

from __future__ import annotations

import logging
import os
import pathlib
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from grafo_tui.event_log_writer import EventLogWriter
from grafo_tui.runner import PipelineRunner
from grafo_tui.trace_writer import TraceWriter

logger = logging.getLogger(__name__)

_BUFFER_SIZE = 1 << 16


class ExportError(Exception):
    """An export file cannot be opened or written; `str(exc)` is for the user."""


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
