"""The grafo-tui screen: the live tree, its log and the commands that change it."""

from __future__ import annotations

import asyncio
import gc
import pathlib
import queue
import time
from collections.abc import Callable, Iterable
from typing import Any

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, TabbedContent, TabPane

import grafo_core
from grafo_core import events
from grafo_core.events import NodeState
from grafo_tui.debug_commands import (
    DEBUG_BINDINGS,
    EXPLAIN_ACTIONS,
    HOLD_BINDINGS,
    WHERE_INTERVAL,
    DebugCommands,
)
from grafo_tui.model import LogLine, RunModel
from grafo_tui.output_capture import OutputWritten, route_pipeline_writes
from grafo_tui.pipeline_messages import (
    ExecutorAttached,
    Notice,
    PipelineEnded,
    RunLeftScreen,
)
from grafo_tui.runner import PipelineRunner
from grafo_tui.screens.help_screen import HelpScreen
from grafo_tui.screens.jump_screen import JumpScreen
from grafo_tui.screens.quit_screen import QuitScreen
from grafo_tui.screens.remove_node_screen import RemoveNodeScreen
from grafo_tui.tree_commands import TreeCommands
from grafo_tui.watchdog import (
    DEFAULT_THRESHOLD,
    LoopBlocked,
    LoopUnblocked,
    LoopWatchdog,
)
from grafo_tui.widgets.about_panel import AboutPanel
from grafo_tui.widgets.chunk_log import ChunkLog
from grafo_tui.widgets.node_details import NodeDetails
from grafo_tui.widgets.output_panel import OutputPanel
from grafo_tui.widgets.status_line import StatusLine
from grafo_tui.widgets.task_tree import TaskTree
from grafo_tui.widgets.timeline import Timeline

MAX_BATCH = 50_000
"""Queue items applied per drain, so one flood cannot freeze the screen."""

MIN_REFRESH = 0.2
"""Fewest seconds between two redraws: events are applied every drain, but a
flood repaints the widgets at most this often so keys are still answered."""

TICK = 0.2
"""Seconds between redraws of running times and spinners when no event arrives."""

STARTUP_WAIT = 0.5
"""Most seconds the screen waits, before it starts, for the pipeline to send
its first tree."""

_HOLD_KEY_ITEMS = frozenset(
    {
        ExecutorAttached,
        events.RunStarted,
        events.RunFinished,
        events.RunHeld,
        events.RunResumed,
        events.NodeFailed,
        events.NodeTimedOut,
        events.NodeCancelled,
        events.NodeReset,
        events.NodeRemoved,
    }
)
"""Queue items after which the retry and end-held-run keys may apply or stop
applying."""


def freeze_loaded_objects() -> None:
    """Move every object alive now out of the garbage collector's reach.

    Call it once, before the app starts. What is loaded by then (Textual,
    Rich, the pipeline file) lives until the process ends, and a pipeline
    that builds a tree of 10,000 nodes triggers several full collections,
    each of which would walk all of it again.
    """
    gc.collect()
    gc.freeze()


class GrafoApp(DebugCommands, TreeCommands, App[None]):
    """Run a pipeline through a `PipelineRunner` and show its tree live.

    `block_threshold` is how many seconds the pipeline's event loop may be
    stuck before the app reports the node that blocks it (`None`: never).
    `export_dir` is where the export key writes its files. With
    `start_paused`, every run starts paused, re-runs included.
    """

    CSS_PATH = "app.tcss"
    TITLE = "grafo-tui"

    BINDINGS = [
        # The footer lists keys in this order and cuts off the ones that do not
        # fit, so Help and Quit come first to stay visible at 80 columns.
        Binding(
            "question_mark",
            "help",
            "Help",
            tooltip="Help: the legend of state marks and every key",
            id="help",
        ),
        # Textual binds Ctrl+Q to the same action, with priority over dialogs.
        Binding(
            "q",
            "quit",
            "Quit",
            tooltip="Quit, asking first while a run is in progress",
            id="quit",
        ),
        # Shown only while they apply, when they matter most, so they come
        # right after Help and Quit.
        *HOLD_BINDINGS,
        Binding(
            "a",
            "add_node",
            "Add",
            tooltip="Add a node under the selected one",
            id="add_node",
        ),
        Binding(
            "d,delete",
            "remove_node",
            "Remove",
            tooltip="Remove the selected node",
            id="remove_node",
        ),
        Binding(
            "c",
            "cancel_node",
            "Cancel",
            tooltip="Cancel the selected running node",
            id="cancel_node",
        ),
        Binding(
            "p",
            "toggle_pause",
            "Pause",
            tooltip="Pause or resume: no new node starts while paused",
            id="toggle_pause",
        ),
        Binding(
            "s",
            "step",
            "Step",
            tooltip="Step: start one ready node while paused",
            id="step",
        ),
        Binding(
            "r",
            "rerun",
            "Re-run",
            tooltip="Run the pipeline file again once the run has ended",
            id="rerun",
        ),
        Binding(
            "R",
            "rerun_paused",
            "Re-run paused",
            tooltip="Run the pipeline file again, paused before its first node",
            id="rerun_paused",
            show=False,
        ),
        *DEBUG_BINDINGS,
        Binding(
            "f",
            "toggle_filter",
            "Filter log",
            tooltip="Filter the Log to the selected node",
            id="toggle_filter",
        ),
        Binding(
            "h",
            "toggle_finished",
            "Hide done",
            tooltip="Hide nodes that succeeded or were skipped",
            id="toggle_finished",
            show=False,
        ),
        Binding(
            "slash", "jump", "Jump", tooltip="Jump to a node by id or label", id="jump"
        ),
    ]

    def __init__(
        self,
        runner: PipelineRunner,
        *,
        clock: Callable[[], float] = time.monotonic,
        block_threshold: float | None = DEFAULT_THRESHOLD,
        export_dir: pathlib.Path | None = None,
        start_paused: bool = False,
    ) -> None:
        super().__init__()
        self.runner = runner
        self.clock = clock
        self.start_paused = start_paused
        self.init_debugging(export_dir, starts_paused=start_paused)
        self.watchdog: LoopWatchdog | None = None
        target = getattr(runner, "loop_and_thread", None)
        if block_threshold is not None and target is not None:
            self.watchdog = LoopWatchdog(
                lambda item: self.runner.queue.put(item),
                target,
                threshold=block_threshold,
            )
        self.model = RunModel()
        self.pipeline_ended = False
        # From `r` until the new pass attaches its executor or ends: the file
        # is being read and built again, which can take a while.
        self.reloading = False
        # Whether a node failed or timed out in this pass of the pipeline,
        # before the run on screen now; it sets the exit status.
        self._nodes_failed = False
        self._notices_shown: set[str] = set()
        self._stop_preparing_runs: Callable[[], None] = lambda: None
        self._last_refresh = 0.0
        self._dirty = False
        self._hold_keys = (False, False)
        # `drawn_time` state: the time of the latest queue item applied,
        # whether items were left on the queue after the last drain, and the
        # latest time returned.
        self._latest_item_time = float("-inf")
        self._behind = False
        self._drawn_time = float("-inf")

        self.task_tree = TaskTree(clock=self.drawn_time, id="tree")
        self.details = NodeDetails(clock=self.drawn_time, id="details")
        self.chunk_log = ChunkLog(id="log")
        self.output_panel = OutputPanel(id="output")
        self.output_panel.label_of = lambda node_id: self.model.label(node_id)
        self.status_line = StatusLine(clock=self.drawn_time, id="status")
        self.timeline = Timeline(clock=self.drawn_time, id="timeline")

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield self.task_tree
            with Vertical(id="side"):
                yield self.details
                with TabbedContent(id="tabs"):
                    with TabPane("Log", id="log-tab"):
                        yield self.chunk_log
                    with TabPane("Output", id="output-tab"):
                        yield self.output_panel
                    with TabPane("About", id="about-tab"):
                        yield AboutPanel(self.runner.module_doc, id="about")
            yield self.timeline
        yield self.status_line
        yield Footer()

    async def on_load(self) -> None:
        # NOTE: once the screen starts, Textual 8.2.8 points sys.stdout and
        # sys.stderr at `App._capture_stdout` / `_capture_stderr`, which drop
        # text outside headless mode. Wrapped, they pass the pipeline
        # thread's prints on to the Output tab as the streams before did.
        self._capture_stdout = route_pipeline_writes(self._capture_stdout, "stdout")
        self._capture_stderr = route_pipeline_writes(self._capture_stderr, "stderr")
        # Registered before the pipeline thread starts, so its first run is
        # prepared too.
        self._stop_preparing_runs = grafo_core.observe_runs(self.prepare_run)
        self.runner.start()
        if self.watchdog is not None:
            self.watchdog.start()
        # The pipeline thread and the screen share the GIL. Letting the
        # pipeline build and send its tree first, for up to STARTUP_WAIT
        # seconds, shows a big tree sooner than doing both at once.
        await asyncio.to_thread(self.runner.tree_sent.wait, STARTUP_WAIT)

    def on_mount(self) -> None:
        self.task_tree.border_title = "Tree"
        self.details.border_title = "Node"
        self.timeline.border_title = "Timeline"
        self.timeline.display = False
        self.task_tree.focus()
        self.set_interval(0.05, self.drain_queue)
        self.set_interval(WHERE_INTERVAL, self.poll_where)

    async def on_unmount(self) -> None:
        self._stop_preparing_runs()
        if self.watchdog is not None:
            self.watchdog.stop()
        await asyncio.to_thread(self.runner.stop)

    @property
    def selected_id(self) -> str | None:
        """Id of the node under the tree's cursor, or `None`."""
        return self.task_tree.selected_id

    def drawn_time(self) -> float:
        """Return the moment that running times and the run's clock are drawn at.

        It is `clock()`, unless the last drain left items on the queue: then
        the screen shows the past, so it is the time of the latest item
        applied. A run that ended in the backlog would otherwise show a
        running time past its end, then its shorter real one. The value
        never goes back.
        """
        now = self._latest_item_time if self._behind else self.clock()
        self._drawn_time = max(self._drawn_time, now)
        return self._drawn_time

    def drain_queue(self) -> None:
        """Apply the queued events and messages, then refresh the widgets once."""
        log_lines: list[LogLine] = []
        printed: list[OutputWritten] = []
        drained: list[Any] = []
        hold_keys_may_change = False
        for _ in range(MAX_BATCH):
            try:
                item = self.runner.queue.get_nowait()
            except queue.Empty:
                break
            drained.append(item)
            if type(item) in _HOLD_KEY_ITEMS:
                hold_keys_may_change = True
            # Engine events and `OutputWritten` carry the time they were sent.
            moment = getattr(item, "time", None)
            if moment is not None and moment > self._latest_item_time:
                self._latest_item_time = moment
            if type(item) in events.EVENT_TYPES:
                line = self.model.apply(item)
                if line is not None:
                    log_lines.append(line)
                if self.breakpoints:
                    self.note_breakpoint_event(item, log_lines)
            elif isinstance(item, LoopBlocked):
                self.model.loop_blocked(
                    item.node_id, item.file, item.line, item.function, item.since
                )
            elif isinstance(item, LoopUnblocked):
                log_lines.append(self.model.loop_unblocked(item.node_id, item.seconds))
            else:
                self._handle_message(item, printed, log_lines)
        count = len(drained)
        self._behind = not self.runner.queue.empty()
        if hold_keys_may_change:
            # Checking every node is skipped for the chunks and starts that
            # make up a flood: only these items change what the keys see.
            self._update_hold_keys()
        self.record_items(drained)
        self.chunk_log.write_lines(log_lines)
        self.output_panel.write_output(printed)

        # Without new events only running times and spinners change, so an
        # idle screen costs nothing and a running one redraws at 1 / TICK Hz.
        # Real time paces this, not `self.clock`, which tests may freeze.
        self._dirty = self._dirty or bool(count)
        since = time.monotonic() - self._last_refresh
        ticking = self.model.running_count and since >= TICK
        if (self._dirty and since >= MIN_REFRESH) or ticking:
            self._last_refresh = time.monotonic()
            self._dirty = False
            self.refresh_views()
        elif since >= TICK and self.model.is_started and not self.model.is_finished:
            # Paused or held with nothing running: only the clock moves.
            self._last_refresh = time.monotonic()
            self.status_line.show(
                self.model, ended=self.pipeline_ended, reloading=self.reloading
            )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool:
        # False hides the key from the footer. The key then reaches its
        # stand-in binding in `HOLD_BINDINGS`, which notifies why.
        retry, release = self._hold_keys
        if action == "retry_node":
            return retry
        if action == "release_run":
            return release
        return True

    def _update_hold_keys(self) -> None:
        hold_keys = self.hold_keys_apply()
        if hold_keys != self._hold_keys:
            self._hold_keys = hold_keys
            self.refresh_bindings()

    def refresh_views(self) -> None:
        """Redraw the tree, the details and the status line from the model."""
        self.task_tree.update()
        self.details.show(self.model, self.selected_id)
        self.status_line.show(
            self.model, ended=self.pipeline_ended, reloading=self.reloading
        )
        if self.timeline.display:
            self.timeline.show(self.model, self.selected_id)
        if isinstance(self.screen, RemoveNodeScreen):
            self.screen.show(self.model)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # Textual's own Quit entry calls `action_quit` too; the entry of the
        # `q` binding below is the only one kept, so the palette lists one Quit.
        for command in super().get_system_commands(screen):
            if command.callback != self.action_quit:
                yield command
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            if binding.action in EXPLAIN_ACTIONS:
                continue
            action = getattr(self, f"action_{binding.action}")
            key = self.get_key_display(binding)
            yield SystemCommand(
                binding.description, f"{binding.tooltip} (key {key})", action
            )

    def on_tree_node_highlighted(self) -> None:
        self.details.show(self.model, self.selected_id)
        if self.timeline.display:
            self.timeline.show(self.model, self.selected_id)

    def _handle_message(
        self, item: Any, printed: list[OutputWritten], log_lines: list[LogLine]
    ) -> None:
        if isinstance(item, OutputWritten):
            printed.append(item)
        elif isinstance(item, Notice):
            if item.text not in self._notices_shown:
                self._notices_shown.add(item.text)
                self.notify(item.text, timeout=8)
        elif isinstance(item, ExecutorAttached):
            self._nodes_failed = self._nodes_failed or self._model_has_failures()
            # The new model keeps the titles of runs still going, so their
            # Log lines name them.
            self.model = self.model.for_next_run()
            self.task_tree.show_model(self.model)
            self.pipeline_ended = False
            self.reloading = False
            self.note_run_attached()
        elif isinstance(item, RunLeftScreen):
            self.note_run_left_screen(item, log_lines)
        elif isinstance(item, PipelineEnded):
            self.pipeline_ended = True
            self.reloading = False
            self.drop_unused_breakpoints(log_lines)
            if isinstance(self.screen, QuitScreen):
                self.screen.run_ended()
            self._nodes_failed = self._nodes_failed or item.failed_nodes > 0
            if item.error is not None:
                # What the file printed before it failed belongs with the
                # error, on the terminal, as when it runs without the screen.
                output = [
                    *self.output_panel.lines,
                    "".join(piece.text for piece in printed),
                ]
                text = "\n".join(line for line in output if line).rstrip("\n")
                message = f"{text}\n\n{item.error}" if text else str(item.error)
                self.exit(return_code=2, message=message)

    def _model_has_failures(self) -> bool:
        # A failed node removed during the run still counts, as in --headless.
        counts = self.model.counts() + self.model.removed_failures
        return bool(counts[NodeState.FAILED] or counts[NodeState.TIMED_OUT])

    def action_toggle_filter(self) -> None:
        log = self.chunk_log
        if log.filter_id is None and self.selected_id is not None:
            log.set_filter(self.selected_id)
            self.query_one("#tabs", TabbedContent).active = "log-tab"
        else:
            log.set_filter(None)

    def action_toggle_finished(self) -> None:
        self.task_tree.set_hide_finished(not self.task_tree.hide_finished)
        if not self.task_tree.hide_finished:
            self.notify("Every node is shown.", timeout=2)
        elif self.task_tree.placements:
            self.notify(
                "Nodes that succeeded or were skipped are hidden; failures stay. "
                "Press h to show them.",
                timeout=4,
            )
        else:
            self.notify(
                "Every node succeeded or was skipped, so the tree is empty. "
                "Press h to show them.",
                timeout=6,
            )

    def action_jump(self) -> None:
        labels = {i: node.label for i, node in self.model.nodes.items()}
        self.push_screen(JumpScreen(labels), self._jump)

    def _jump(self, node_id: str | None) -> None:
        if node_id is None:
            return
        if not self.task_tree.move_to(node_id):
            self.notify(f"{node_id} is not shown in the tree; press h to show all.")

    def action_help(self) -> None:
        keys = []
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            if binding.action not in EXPLAIN_ACTIONS:
                keys.append((self.get_key_display(binding), binding.description))
        keys.append(("ctrl+q", "Quit, as q does"))
        keys.append(("ctrl+p", "Command palette (themes, keys)"))
        keys.append(("tab", "Move focus between panels"))
        self.push_screen(HelpScreen(keys))

    async def action_quit(self) -> None:
        """Quit, asking first while a run is in progress.

        `q`, Textual's Ctrl+Q and the palette's Quit all run this action.
        """
        if isinstance(self.screen, QuitScreen):
            # Ctrl+Q has priority over the open dialog, so it confirms there.
            self.screen.action_quit_now()
            return
        if self.runner.finished:
            self.run_worker(self._stop_and_exit)
            return

        def quit_if_confirmed(confirmed: bool | None) -> None:
            if confirmed:
                self.run_worker(self._stop_and_exit)

        self.push_screen(QuitScreen(), quit_if_confirmed)

    async def _stop_and_exit(self) -> None:
        await asyncio.to_thread(self.runner.stop)
        # As with --headless: 1 when a node of the pipeline failed or timed
        # out. The runner's count covers the runs that left the screen, and
        # it is there even when the pass was stopped before `PipelineEnded`.
        failed = (
            self._nodes_failed
            or self._model_has_failures()
            or getattr(self.runner, "failed_nodes", 0) > 0
        )
        self.exit(return_code=self.return_code or (1 if failed else 0))
