"""The app's debugging commands: breakpoints, retry, faults, live awaits, export."""

from __future__ import annotations

import asyncio
import functools
import pathlib
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from textual.binding import Binding

from grafo_core.events import NodeState
from grafo_tui.export import ExportError, RunExporter
from grafo_tui.model import RETRYABLE, NodeView
from grafo_tui.screens.fault_screen import FaultRequest, FaultScreen

if TYPE_CHECKING:
    from grafo_tui.app import GrafoApp

WHERE_INTERVAL = 0.25
"""Seconds between two reads of the selected running node's await chain."""

MAX_RECORD = 200_000
"""Queue items kept for the export key, so a flood cannot fill memory; later
items are not exported. `--events` on the command line keeps every one."""

DEBUG_BINDINGS = [
    Binding("v", "toggle_timeline", "Timeline", id="toggle_timeline"),
    Binding("b", "toggle_breakpoint", "Breakpoint", id="toggle_breakpoint", show=False),
    Binding("t", "retry_node", "Retry", id="retry_node", show=False),
    Binding("e", "release_run", "End held run", id="release_run", show=False),
    Binding("i", "inject_fault", "Inject fault", id="inject_fault", show=False),
    Binding("x", "export", "Export", id="export", show=False),
]


class DebugCommands:
    """Actions of `GrafoApp` for debugging a run; mixed into the app class."""

    export_dir: pathlib.Path
    record: list[Any]
    _where_future: Future | None
    _where_view: NodeView | None

    def init_debugging(self, export_dir: pathlib.Path | None) -> None:
        """Set the state the debugging commands keep; call from `__init__`."""
        self.export_dir = export_dir if export_dir is not None else pathlib.Path()
        self.record = []
        self._where_future = None
        self._where_view = None

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
        enabled = not view.has_breakpoint

        def set_breakpoint(executor: Any) -> None:
            executor.set_breakpoint(node_id, enabled=enabled)

        if not self._submit(f"set a breakpoint on {node_id}", set_breakpoint):
            return
        view.has_breakpoint = enabled
        self.refresh_views()
        action = "pauses before" if enabled else "no longer pauses before"
        self.notify(f"The run {action} {view.label} starts.", timeout=3)

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
            self.notify(f"Could not {what}: {error}", severity="error", timeout=8)
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
        base = self.export_dir / f"{stem}-{stamp}"
        number = 1
        while any(
            base.with_name(f"{base.name}{suffix}").exists()
            for suffix in (".svg", ".events.jsonl", ".trace.json")
        ):
            number += 1
            base = self.export_dir / f"{stem}-{stamp}-{number}"
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
        self.notify(
            f"Exported{note} to {events_path}, {trace_path} and {screenshot}.",
            title="Export",
            timeout=10,
        )


def _export_items(
    items: list[Any], events_path: pathlib.Path, trace_path: pathlib.Path
) -> None:
    with RunExporter(events_path=events_path, trace_path=trace_path) as exporter:
        for item in items:
            exporter.handle(item)
