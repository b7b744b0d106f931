"""The app's debugging commands: breakpoints, retry, faults, live awaits, export."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import pathlib
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from textual.binding import Binding

from grafo_core import events
from grafo_core.events import NodeState
from grafo_tui.export import ExportError, RunExporter
from grafo_tui.model import RETRYABLE, LogLine, NodeView, error_message
from grafo_tui.model_handlers import run_title
from grafo_tui.pipeline_messages import RunLeftScreen
from grafo_tui.screens.fault_screen import FaultRequest, FaultScreen

if TYPE_CHECKING:
    from grafo_tui.app import GrafoApp

WHERE_INTERVAL = 0.25
"""Seconds between two reads of the selected running node's await chain."""

MAX_RECORD = 200_000
"""Queue items kept for the export key, so a flood cannot fill memory; later
items are not exported. `--events` on the command line keeps every one."""

HOLD_BINDINGS = [
    Binding(
        "t",
        "retry_node",
        "Retry",
        tooltip="Retry the selected failed, timed-out or cancelled node",
        id="retry_node",
    ),
    Binding(
        "e",
        "release_run",
        "End held run",
        tooltip="End a run that is held open after a failure",
        id="release_run",
    ),
    # While `check_action` turns the two above off, the same keys reach these,
    # which notify why nothing can be retried or ended.
    Binding("t", "explain_retry", show=False, id="retry_node.unavailable"),
    Binding("e", "explain_release", show=False, id="release_run.unavailable"),
]
"""Keys that apply only while the run on screen has a node to retry or is
held; `GrafoApp.check_action` leaves them out of the footer otherwise."""

EXPLAIN_ACTIONS = frozenset({"explain_retry", "explain_release"})
"""Actions of the stand-in bindings, left out of the help and the palette."""

DEBUG_BINDINGS = [
    Binding(
        "v",
        "toggle_timeline",
        "Timeline",
        tooltip="Show the timeline: a bar per node run, and running nodes over time",
        id="toggle_timeline",
    ),
    Binding(
        "b",
        "toggle_breakpoint",
        "Breakpoint",
        tooltip="Set or clear a breakpoint: the run pauses just before the node",
        id="toggle_breakpoint",
        show=False,
    ),
    Binding(
        "i",
        "inject_fault",
        "Inject fault",
        tooltip="Inject a fault: the node's next run fails or takes longer",
        id="inject_fault",
        show=False,
    ),
    Binding(
        "x",
        "export",
        "Export",
        tooltip="Export the events, a Chrome trace and an SVG screenshot",
        id="export",
        show=False,
    ),
]


_GRAPH_EVENTS = frozenset(
    {
        events.RunStarted,
        events.RunPaused,
        events.MaxWorkersChanged,
        events.NodeAdded,
        events.EdgeAdded,
    }
)
"""Events a run sends before its first node is queued or started: the first
event of another type means the run's starting tree has arrived."""

ENGINE_LOGGER = "grafo_core.executor"
"""The logger of `grafo_core.TreeExecutor`, which warns when `set_breakpoint`
gets an id that no node of the tree has yet."""


class _ThreadFilter(logging.Filter):
    """Drop the records logged on the thread that created the filter."""

    def __init__(self) -> None:
        super().__init__()
        self._thread_id = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread != self._thread_id


@contextlib.contextmanager
def _quiet_engine_warnings() -> Iterator[None]:
    """Drop what the executor logs on this thread inside the block.

    The app sets breakpoints on ids a new tree may lack, which the engine
    allows and warns about in case of a typo. The app reports those ids in a
    toast and the Log itself, and the warning, written to the pipeline's
    stderr, would show in the Output tab as if the pipeline had printed it.
    """
    logger = logging.getLogger(ENGINE_LOGGER)
    quiet = _ThreadFilter()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


class DebugCommands:
    """Actions of `GrafoApp` for debugging a run; mixed into the app class.

    Attributes:
        breakpoints: Ids of the nodes the user set a breakpoint on. The
            pipeline thread reads it when a run starts, so it is replaced,
            never changed in place.
        starts_paused: Whether the runs of the current pass of the pipeline
            start paused; read by the pipeline thread too.

    The screen shows the run that started last. A run still going when
    another one starts has no key that reaches it any more, so the app lets
    it go: it stops holding it after failures, removes its breakpoints and
    resumes it if the app had paused it.
    """

    export_dir: pathlib.Path
    record: list[Any]
    breakpoints: frozenset[str]
    starts_paused: bool
    _breakpoints_found: set[str]
    _tree_check_due: bool
    _where_future: Future | None
    _where_view: NodeView | None

    def init_debugging(
        self, export_dir: pathlib.Path | None, *, starts_paused: bool = False
    ) -> None:
        """Set the state the debugging commands keep; call from `__init__`."""
        self.export_dir = export_dir if export_dir is not None else pathlib.Path()
        self.record = []
        self.breakpoints = frozenset()
        self.starts_paused = starts_paused
        # Breakpoint ids that a tree of the current pass contains.
        self._breakpoints_found = set()
        self._tree_check_due = False
        self._where_future = None
        self._where_view = None
        # Touched only on the pipeline thread. `_screen_run` is the run
        # prepared last, which is the one on screen. `_screen_run_paused` is
        # true when the app paused it (start paused, the p key or a
        # breakpoint) and nothing resumed it since.
        self._screen_run: Any = None
        self._screen_run_paused = False
        self._stop_watching_pauses: Callable[[], None] = lambda: None

    def record_items(self: GrafoApp, items: list[Any]) -> None:
        """Keep drained queue items for the export key, up to `MAX_RECORD`."""
        room = MAX_RECORD - len(self.record)
        if room > 0:
            self.record.extend(items[:room])

    # --- the selected node's await chain ----------------------------------------

    def poll_where(self: GrafoApp) -> None:
        """Ask the pipeline's loop where the selected running node waits.

        One call is in flight at most, so a blocked loop gets no pile of calls.
        """
        future = self._where_future
        if future is not None:
            if not future.done():
                return
            self._where_future = None
            view = self._where_view
            if (
                view is not None
                and view.state is NodeState.RUNNING
                and future.exception() is None
            ):
                view.awaiting = tuple(future.result())
                self.details.show(self.model, self.selected_id)

        node_id = self.selected_id
        view = self.model.nodes.get(node_id) if node_id is not None else None
        if view is None or view.state is not NodeState.RUNNING:
            return
        self._where_view = view
        self._where_future = self.runner.submit(lambda ex: ex.where(view.node_id))

    # --- commands ----------------------------------------------------------------

    def action_toggle_timeline(self: GrafoApp) -> None:
        shown = not self.timeline.display
        self.timeline.display = shown
        self.query_one("#side").display = not shown
        if shown:
            # The chart's width is known only after the next layout.
            self.call_after_refresh(self.timeline.show, self.model, self.selected_id)

    def action_toggle_breakpoint(self: GrafoApp) -> None:
        node_id = self._selected_node("set a breakpoint on")
        if node_id is None:
            return
        view = self.model.nodes[node_id]
        enabled = node_id not in self.breakpoints

        def set_breakpoint(executor: Any) -> None:
            with _quiet_engine_warnings():
                executor.set_breakpoint(node_id, enabled=enabled)

        if self.model.is_finished:
            # The next run gets it from `prepare_run`. A script that runs
            # this executor again keeps its breakpoints, so it changes too.
            self.runner.submit(set_breakpoint)
            if enabled:
                message = f"The next run pauses before {view.label} starts."
            else:
                message = f"The next run no longer pauses before {view.label}."
            if self.runner.finished:
                message += " Press r to run it again."
        elif self._submit(f"set a breakpoint on {node_id}", set_breakpoint):
            action = "pauses before" if enabled else "no longer pauses before"
            message = f"The run {action} {view.label} starts."
        else:
            return
        if enabled:
            self.breakpoints = self.breakpoints | {node_id}
            self._breakpoints_found.add(node_id)
        else:
            self.breakpoints = self.breakpoints - {node_id}
        view.has_breakpoint = enabled
        self.refresh_views()
        self.notify(message, timeout=4)

    # --- what each new run starts with -------------------------------------------

    def prepare_run(self: GrafoApp, executor: Any) -> None:
        """Give a run that is about to start the breakpoints, and pause it
        when the pass starts paused.

        A `grafo_core.observe_runs` callback: it runs on the thread of the
        run, before the run's first event.
        """
        located = getattr(self.runner, "loop_and_thread", lambda: None)()
        # NOTE: before the first run of a script, the runner has no loop or
        # thread id yet, so a run on another thread of this process would be
        # prepared too. grafo-tui runs one pipeline per process.
        if located is not None and located[1] != threading.get_ident():
            return
        self._let_go_of_screen_run(executor)
        # An id the tree lacks still pauses a node added later with that id.
        with _quiet_engine_warnings():
            for node_id in self.breakpoints:
                executor.set_breakpoint(node_id)
        if self.starts_paused:
            executor.pause()
        self._screen_run = executor
        self._screen_run_paused = self.starts_paused
        self._stop_watching_pauses = executor.subscribe(self._note_pause)

    def _let_go_of_screen_run(self: GrafoApp, new_run: Any) -> None:
        """Let the run on screen go on by itself when `new_run` takes its
        place while it is still going; call on the pipeline thread.

        Every run of the pipeline thread runs on its one event loop, so the
        calls here reach the old run on its own loop.
        """
        self._stop_watching_pauses()
        self._stop_watching_pauses = lambda: None
        old_run, self._screen_run = self._screen_run, None
        if old_run is None or old_run is new_run or not old_run.is_running:
            return
        # Cleared first, so that resuming does not stop at one again.
        for node_id in self.breakpoints:
            old_run.set_breakpoint(node_id, enabled=False)
        if getattr(self.runner, "hold_on_error", False):
            # A run held open after a failure ends at once.
            old_run.hold_on_error = False
        resumed = self._screen_run_paused and old_run.is_paused
        if resumed:
            old_run.resume()
        message = RunLeftScreen(
            old_run.name, old_run.description, resumed, time.monotonic()
        )
        self.runner.queue.put(message)

    def _note_pause(self: GrafoApp, event: Any) -> None:
        """Record the breakpoint pauses and the resumes of the run on screen,
        as its engine subscriber."""
        kind = type(event)
        if kind is events.RunPaused and event.node_id is not None:
            self._screen_run_paused = True  # at one of the app's breakpoints
        elif kind is events.RunResumed:
            self._screen_run_paused = False

    def pause_run(self: GrafoApp, executor: Any) -> None:
        """Pause the run on screen for the p key; call on the pipeline thread."""
        executor.pause()
        if executor is self._screen_run:
            self._screen_run_paused = True

    def note_run_left_screen(
        self: GrafoApp, message: RunLeftScreen, log_lines: list[LogLine]
    ) -> None:
        """Say in the Log that a run still going left the screen."""
        title = run_title(message.run_id, message.description)
        if message.resumed:
            text = f"{title} is not on screen now, so it is resumed and runs on"
        else:
            text = f"{title} is not on screen now, so it runs on"
        text += " without holding or pausing."
        moment = self.model.elapsed(message.time)
        log_lines.append(LogLine(moment, None, "", text, "run"))

    def note_pass_starting(self: GrafoApp, *, paused: bool) -> None:
        """Record that the pipeline runs again; call before `runner.rerun()`."""
        self.starts_paused = paused
        self._breakpoints_found = set()

    def note_run_attached(self: GrafoApp) -> None:
        """Start the checks of a new run; call once its `ExecutorAttached` is
        handled and its model is new."""
        self._tree_check_due = bool(self.breakpoints)
        if self.starts_paused:
            self.notify(
                "The run starts paused: press s to start one ready node, p to resume.",
                timeout=6,
            )

    def note_breakpoint_event(
        self: GrafoApp, event: Any, log_lines: list[LogLine]
    ) -> None:
        """Mark the nodes of the new run that have a breakpoint, and report
        the breakpoints its starting tree lacks; call for each applied event."""
        kind = type(event)
        if kind is events.NodeAdded and event.node_id in self.breakpoints:
            view = self.model.nodes.get(event.node_id)
            if view is not None:
                view.has_breakpoint = True
                self._breakpoints_found.add(event.node_id)
        elif self._tree_check_due and kind not in _GRAPH_EVENTS:
            self._tree_check_due = False
            self._report_breakpoints(log_lines)

    def _report_breakpoints(self: GrafoApp, log_lines: list[LogLine]) -> None:
        present = sorted(i for i in self.breakpoints if i in self.model.nodes)
        missing = sorted(self.breakpoints - self._breakpoints_found)
        parts = []
        if present:
            labels = ", ".join(self.model.label(i) for i in present)
            parts.append(f"Breakpoints carried over to this run: {labels}.")
        if missing:
            parts.append(
                f"No node in the new tree has the id {', '.join(missing)}; "
                "the breakpoint stays set until the pipeline ends, in case the "
                "run adds one."
            )
        if not parts:
            return
        text = " ".join(parts)
        severity = "warning" if missing else "information"
        self.notify(text, severity=severity, timeout=8)
        log_lines.append(self._run_line(text))

    def drop_unused_breakpoints(self: GrafoApp, log_lines: list[LogLine]) -> None:
        """Remove the breakpoints on ids that no tree of the ended pass had;
        call when the pipeline ends."""
        unused = self.breakpoints - self._breakpoints_found
        if not unused:
            return
        self.breakpoints = self.breakpoints - unused
        ids = ", ".join(sorted(unused))
        text = f"Breakpoint removed from {ids}: the pipeline ran no node with that id."
        self.notify(text, severity="warning", timeout=8)
        log_lines.append(self._run_line(text))

    def _run_line(self: GrafoApp, text: str) -> LogLine:
        """Return a log line about the whole run, at the current time."""
        return LogLine(self.model.elapsed(self.clock()), None, "", text, "run")

    def hold_keys_apply(self: GrafoApp) -> tuple[bool, bool]:
        """Return whether the retry key and the end-held-run key apply now.

        Retry applies while the run on screen goes on and has a failed,
        timed-out or cancelled node; ending applies while the run is held.
        """
        model = self.model
        if not model.is_started or model.is_finished:
            return False, False
        held = model.held is not None
        retry = held or any(view.state in RETRYABLE for view in model.nodes.values())
        return retry, held

    def action_retry_node(self: GrafoApp) -> None:
        node_id = self._selected_node("retry")
        if node_id is None:
            return
        view = self.model.nodes[node_id]
        if view.state not in RETRYABLE:
            state = view.state.value.replace("_", " ")
            self.notify(
                f"{view.label} has state {state}; only a failed, timed-out or "
                "cancelled node can be retried.",
                severity="warning",
            )
            return
        self._submit_and_check(
            f"retry {node_id}",
            lambda ex: ex.retry(node_id),
            f"{view.label} could not be retried: the run was stopped or cancelled.",
        )

    def action_explain_retry(self: GrafoApp) -> None:
        self.action_retry_node()

    def action_explain_release(self: GrafoApp) -> None:
        self.action_release_run()

    def action_release_run(self: GrafoApp) -> None:
        if not self.model.held:
            self.notify("The run is not held; e ends a run kept open for retries.")
            return
        self._submit("end the held run", lambda ex: ex.release())

    def action_inject_fault(self: GrafoApp) -> None:
        node_id = self._selected_node("inject a fault into")
        if node_id is None or not self._run_takes_commands("inject a fault"):
            return
        label = self.model.label(node_id)
        self.push_screen(
            FaultScreen(label), lambda request: self._inject(node_id, request)
        )

    def _inject(self: GrafoApp, node_id: str, request: FaultRequest | None) -> None:
        if request is None:
            return

        def inject(executor: Any) -> None:
            executor.inject_fault(node_id, error=request.error, delay=request.delay)

        if not self._submit(f"inject a fault into {node_id}", inject):
            return
        view = self.model.nodes.get(node_id)
        if view is not None:
            view.fault = request.describe()
            self.refresh_views()
        label = self.model.label(node_id)
        self.notify(f"The next run of {label} {request.describe()}.")

    def _submit_and_check(
        self: GrafoApp, what: str, command: Callable[[Any], Any], refused: str
    ) -> None:
        """Like `_submit`, and notify `refused` when the command returns False."""
        if self.runner.executor is None or self.model.is_finished:
            self._submit(what, command)
            return
        future = self.runner.submit(command)
        self.run_worker(functools.partial(self._report_refusal, what, future, refused))

    async def _report_refusal(
        self: GrafoApp, what: str, future: Future, refused: str
    ) -> None:
        try:
            accepted = await asyncio.wrap_future(future)
        except Exception as error:
            self.notify(
                f"Could not {what}: {error_message(error)}", severity="error", timeout=8
            )
            return
        if accepted is False:
            self.notify(refused, severity="warning")

    # --- export ------------------------------------------------------------------

    def action_export(self: GrafoApp) -> None:
        base = self._export_base()
        screenshot = self.save_screenshot(
            filename=f"{base.name}.svg", path=str(base.parent)
        )
        events_path = base.with_name(f"{base.name}.events.jsonl")
        trace_path = base.with_name(f"{base.name}.trace.json")
        items = list(self.record)
        self.run_worker(
            functools.partial(
                self._write_export, items, events_path, trace_path, screenshot
            ),
            exit_on_error=False,
        )

    def _export_base(self: GrafoApp) -> pathlib.Path:
        spec = getattr(self.runner, "spec", None)
        stem = spec.path.stem if spec is not None else "grafo-tui"
        stamp = time.strftime("%Y%m%d-%H%M%S")
        folder = self.export_dir.absolute()
        base = folder / f"{stem}-{stamp}"
        number = 1
        while any(
            base.with_name(f"{base.name}{suffix}").exists()
            for suffix in (".svg", ".events.jsonl", ".trace.json")
        ):
            number += 1
            base = folder / f"{stem}-{stamp}-{number}"
        return base

    async def _write_export(
        self: GrafoApp,
        items: list[Any],
        events_path: pathlib.Path,
        trace_path: pathlib.Path,
        screenshot: str,
    ) -> None:
        try:
            await asyncio.to_thread(_export_items, items, events_path, trace_path)
        except ExportError as error:
            self.notify(str(error), severity="error", timeout=10)
            return
        note = ""
        if len(items) >= MAX_RECORD:
            note = f" (first {MAX_RECORD:,} items; --events keeps them all)"
        names = (
            f"{events_path.name}, {trace_path.name} and {pathlib.Path(screenshot).name}"
        )
        self.notify(
            f"Exported{note} to {events_path.parent}: {names}.",
            title="Export",
            timeout=10,
        )


def _export_items(
    items: list[Any], events_path: pathlib.Path, trace_path: pathlib.Path
) -> None:
    with RunExporter(events_path=events_path, trace_path=trace_path) as exporter:
        for item in items:
            exporter.handle(item)
