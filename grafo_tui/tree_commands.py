"""Actions of `GrafoApp` that change the tree of the run on screen: add,
remove, cancel, pause, step and re-run."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from grafo_core import Node
from grafo_core.events import NodeState
from grafo_tui.model import error_message
from grafo_tui.screens.add_node_screen import AUTO, AddNodeScreen, AddRequest
from grafo_tui.screens.remove_node_screen import CASCADE, RemoveNodeScreen

if TYPE_CHECKING:
    from grafo_tui.app import GrafoApp


class TreeCommands:
    """Actions of `GrafoApp` that change the run's tree; mixed into the app
    class. They submit their calls to the pipeline's thread and report a
    call the engine refused."""

    def _run_takes_commands(self: GrafoApp, action: str) -> bool:
        """Return whether a run is in progress to `action`. If not, notify why."""
        if self.runner.executor is None or not self.model.is_started:
            self.notify("No run has started yet.", severity="warning")
            return False
        if self.model.is_finished:
            self.notify(f"Cannot {action}: the run has ended; press r to run it again.")
            return False
        return True

    def _submit(self: GrafoApp, action: str, command: Callable[[Any], Any]) -> bool:
        """Run `command(executor)` on the pipeline's loop; notify if it fails.
        Return whether the command was sent."""
        if not self._run_takes_commands(action):
            return False
        future = self.runner.submit(command)
        # A partial, not a coroutine: a worker the closing app never starts
        # must not leave a coroutine that was never awaited.
        report = functools.partial(self._report_failure, action, future)
        self.run_worker(report, exit_on_error=False)
        return True

    async def _report_failure(self: GrafoApp, action: str, future: Future) -> None:
        try:
            await asyncio.wrap_future(future)
        except Exception as error:
            self.notify(
                f"Could not {action}: {error_message(error)}",
                severity="error",
                timeout=8,
            )

    def _selected_node(self: GrafoApp, verb: str) -> str | None:
        node_id = self.selected_id
        if node_id is None or node_id not in self.model.nodes:
            self.notify(f"Select a node to {verb} first.", severity="warning")
            return None
        return node_id

    def action_add_node(self: GrafoApp) -> None:
        parent_id = self._selected_node("add a child to")
        if parent_id is None or not self._run_takes_commands("add a node"):
            return
        self._open_add_form(parent_id)

    def _open_add_form(
        self: GrafoApp,
        parent_id: str,
        fields: dict[str, str] | None = None,
        error: str = "",
    ) -> None:
        screen = AddNodeScreen(
            parent_label=self.model.label(parent_id),
            functions=self.runner.functions,
            # Read at each check: nodes are added while the form is open, and a
            # re-run replaces the model.
            taken_ids=lambda: self.model.nodes,
            entry_point=self.runner.entry_point,
            fields=fields,
            error=error,
        )
        self.push_screen(screen, lambda request: self._add(parent_id, request))

    def _add(self: GrafoApp, parent_id: str, request: AddRequest | None) -> None:
        if request is None or not self._run_takes_commands("add a node"):
            return
        forward = Node.AUTO if request.forward == AUTO else request.forward
        node = Node(
            request.function,
            kwargs=request.kwargs,
            uuid=request.node_id,
            timeout=request.timeout,
        )
        future = self.runner.submit(
            lambda ex: ex.add(node, parents=[parent_id], forward=forward)
        )
        report = functools.partial(self._report_add, parent_id, request, future)
        self.run_worker(report, exit_on_error=False)

    async def _report_add(
        self: GrafoApp, parent_id: str, request: AddRequest, future: Future
    ) -> None:
        """Open the form again, as typed, when the engine rejects the node.

        The form checks what it can, but only the engine has the run's
        current tree and its own rules.
        """
        try:
            await asyncio.wrap_future(future)
        except Exception as error:
            if parent_id in self.model.nodes and not self.model.is_finished:
                message = (
                    f"The engine rejected {request.node_id}: {error_message(error)}"
                )
                self._open_add_form(parent_id, request.fields, message)
            else:
                text = f"Could not add {request.node_id}: {error_message(error)}"
                self.notify(text, severity="error", timeout=8)

    def action_remove_node(self: GrafoApp) -> None:
        node_id = self._selected_node("remove")
        if node_id is None or not self._run_takes_commands(f"remove {node_id}"):
            return
        screen = RemoveNodeScreen(self.model, node_id)
        self.push_screen(screen, lambda choice: self._remove(node_id, choice))

    def _remove(self: GrafoApp, node_id: str, choice: str | None) -> None:
        if choice is not None:
            cascade = choice == CASCADE
            self._submit(
                f"remove {node_id}", lambda ex: ex.remove(node_id, cascade=cascade)
            )

    def action_cancel_node(self: GrafoApp) -> None:
        node_id = self._selected_node("cancel")
        if node_id is None:
            return
        view = self.model.nodes[node_id]
        label = view.label
        if view.state not in (NodeState.READY, NodeState.RUNNING):
            state_name = view.state.value.replace("_", " ")
            self.notify(f"{label} is not running ({state_name}), so nothing to cancel.")
            return
        reason = "cancelled from grafo-tui"
        self._submit_and_check(
            f"cancel {node_id}",
            lambda ex: ex.cancel(node_id, reason=reason),
            f"{label} ended before the cancel reached it.",
        )
        if view.blocked_at is not None:
            # The request waits in the pipeline loop's queue until the node
            # hands the loop back, which may be when it returns.
            self.notify(
                f"Cancel requested; {label} blocks the event loop, so the cancel "
                "takes effect when it next awaits.",
                timeout=8,
            )

    def action_toggle_pause(self: GrafoApp) -> None:
        if self.model.paused:
            self._submit("resume the run", lambda ex: ex.resume())
        else:
            self._submit("pause the run", self.pause_run)

    def action_step(self: GrafoApp) -> None:
        if not self._run_takes_commands("step"):
            return
        if not self.model.paused:
            self.notify("Pause the run (p) before stepping.", severity="warning")
            return
        future = self.runner.submit(lambda ex: ex.step())
        self.run_worker(
            functools.partial(self._report_step, future), exit_on_error=False
        )

    async def _report_step(self: GrafoApp, future: Future) -> None:
        try:
            started = await asyncio.wrap_future(future)
        except Exception as error:
            self.notify(f"Could not step: {error_message(error)}", severity="error")
            return
        if started is None:
            self.notify("No node is ready to start.")

    def action_rerun(self: GrafoApp) -> None:
        self._rerun(paused=self.start_paused)

    def action_rerun_paused(self: GrafoApp) -> None:
        self._rerun(paused=True)

    def _rerun(self: GrafoApp, *, paused: bool) -> None:
        """Run the pipeline again; with `paused`, each of its runs starts paused."""
        if not self.runner.finished:
            self.notify("The pipeline is still running; re-run it once it ended.")
            return
        self.pipeline_ended = False
        self._nodes_failed = False  # the exit status reports the last pass
        self.reloading = True
        self.status_line.show(self.model, reloading=True)
        self.note_pass_starting(paused=paused)
        self.runner.rerun()
