"""Run a pipeline file on its own thread and event loop, and report what happens.

Everything the pipeline does reaches the caller through one
`queue.SimpleQueue`: the engine's events, `OutputWritten` and the messages of
`grafo_tui.pipeline_messages`. Commands go the other way as calls scheduled on
the pipeline's event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import sys
import threading
import types
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grafo_core
from grafo_tui.loader import (
    LoadSpec,
    PipelineFile,
    create_module,
    execute_module,
    pipeline_environment,
    resolve_builder,
)
from grafo_tui.output_capture import OutputRoute, captured_output, remove_route
from grafo_tui.pipeline_messages import Notice
from grafo_tui.pipeline_thread import (
    RERUN,
    STOP,
    FailedNodeCounter,
    PipelineThreadMixin,
)

__all__ = ["PipelineRunner"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class PipelineRunner(PipelineThreadMixin):
    """Run a pipeline file on a thread of its own and report on `queue`.

    The thread runs passes: a pass loads the file and runs its trees, then
    sends `PipelineEnded` and waits for `rerun()` or `stop()`. Every run of a
    `TreeExecutor` on the thread is found with `grafo_core.observe_runs`, so
    script mode shows trees that code the tool did not write creates.

    Attributes:
        spec: What to load.
        queue: Engine events and the runner's messages, in order.
        module_doc: The file's docstring, read without executing the file.
        functions: Top-level async and async generator functions of the file,
            filled once the module is loaded.
        entry_point: The file's function that builds or runs the tree: NAME,
            `build`, or in a script the coroutine function whose task started
            a run (`main` of ``asyncio.run(main())``). The Add form leaves it
            out of its choices.
        executor: The executor of the current or last run.
        loop: The event loop that runs the pipeline now, or `None`.
        hold_on_error: Set `TreeExecutor.hold_on_error` on every run before it
            starts, so a run with failed nodes stays open for retries until
            `release()`.
        reads_input: Let the pipeline's `input()` read sys.stdin, for a
            runner with no screen; otherwise it raises EOFError.
    """

    def __init__(
        self, spec: LoadSpec, *, hold_on_error: bool = False, reads_input: bool = False
    ) -> None:
        self.spec = spec
        self.hold_on_error = hold_on_error
        self.reads_input = reads_input
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.module_doc: str | None = None
        self.functions: dict[str, Callable[..., Any]] = {}
        self.entry_point: str | None = None
        self.executor: grafo_core.TreeExecutor | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.tree_sent = threading.Event()
        """Set once the first run has put its whole graph on the queue, or
        the first pass of the pipeline has ended without a run."""

        self._checked_pipeline: PipelineFile | None = None
        self._route: OutputRoute | None = None
        self._module: types.ModuleType | None = None
        self._preloaded_module: types.ModuleType | None = None
        self._thread: threading.Thread | None = None
        self._thread_id: int | None = None
        self._lock = threading.Lock()
        self._command: str | None = None
        self._wake: Callable[[], None] | None = None
        self._stopping = False
        self._finished = False
        self._grafo_notice_sent = False
        self._in_pass = False
        # Replaced by `rerun()` while no pass runs; changed by the pipeline
        # thread's engine subscriptions.
        self._failed_nodes = FailedNodeCounter()

        # Reset by every pass, and touched only on the pipeline thread.
        self._main_task: asyncio.Task[Any] | None = None
        self._run_tasks: set[asyncio.Task[Any]] = set()
        self._attached: dict[int, tuple[grafo_core.TreeExecutor, Callable[[], Any]]]
        self._attached = {}
        self._runs_started = 0
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._call_tasks: set[asyncio.Future[None]] = set()

    @property
    def failed_nodes(self) -> int:
        """Number of nodes of the current or last pass whose last state in
        their run is failed or timed out, summed over its runs.

        `PipelineEnded` sends the same number. It is exact once the pass has
        ended or `stop()` has returned, but a read while the pass runs may
        miss the latest events.
        """
        return self._failed_nodes.count

    @property
    def finished(self) -> bool:
        """Whether the pipeline's work is over and `PipelineEnded` was sent."""
        return self._finished

    def loop_and_thread(self) -> tuple[asyncio.AbstractEventLoop, int] | None:
        """Return the pipeline's current loop and the id of its thread, or `None`.

        Safe to call from any thread; a loop watchdog polls it.
        """
        loop = self.loop
        thread_id = self._thread_id
        if loop is None or thread_id is None:
            return None
        return loop, thread_id

    # --- commands from other threads -----------------------------------------

    def check(self) -> None:
        """Check the file before the screen opens.

        The file must exist and compile. In function mode the file is also
        imported and its builder resolved; what it prints while it is
        imported goes to `queue`.

        Raises:
            LoadError: The file cannot be loaded.
        """
        pipeline = self._read()
        self._checked_pipeline = pipeline
        if pipeline.is_script:
            return
        module = create_module(pipeline)
        with (
            captured_output(self.queue.put, reads_input=self.reads_input),
            pipeline_environment(pipeline),
        ):
            execute_module(pipeline, module)
        self._set_module(module)
        resolve_builder(module, pipeline)
        self._preloaded_module = module

    def start(self) -> None:
        """Start the pipeline thread.

        Raises:
            RuntimeError: The runner was started before.
        """
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("PipelineRunner.start() was already called")
            self._thread = threading.Thread(
                target=self._run_thread, name="grafo-tui pipeline", daemon=True
            )
        # Each printed line is labelled with its node, also when the line
        # comes from a task or a thread that the node's code started.
        grafo_core.track_node_context(True)
        self._thread.start()

    def submit(
        self, fn: Callable[[grafo_core.TreeExecutor], Awaitable[T] | T]
    ) -> concurrent.futures.Future[T]:
        """Call `fn(executor)` on the pipeline's event loop.

        Returns:
            A future of the call's result, awaited first when it is awaitable.
            It contains a `RuntimeError` when no run has started yet or the loop
            ended before the call ran, and any exception that `fn` raised.
        """
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        loop = self.loop
        if loop is None or self.executor is None:
            future.set_exception(
                RuntimeError("no pipeline run has started yet, so there is no tree")
            )
            return future
        try:
            loop.call_soon_threadsafe(self._start_call, fn, future)
        except RuntimeError:
            future.set_exception(
                RuntimeError("the pipeline's event loop is closed; rerun first")
            )
        return future

    def rerun(self) -> None:
        """Run the whole pipeline again, once the current pass has ended.

        While the pipeline still runs, it only puts a `Notice` on the queue.
        """
        with self._lock:
            if self._thread is None or self._stopping:
                return
            if not self._finished:
                self.queue.put(
                    Notice("The pipeline is still running; rerun it after it ends.")
                )
                return
            self._finished = False
            self._command = RERUN
            # Failed nodes are counted per pass, and the next pass starts now.
            self._failed_nodes = FailedNodeCounter()
            wake = self._wake
        if wake is not None:
            wake()

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel the current run and end the pipeline thread.

        Running nodes are cancelled and async generators closed by the engine
        when the task that awaits the run is cancelled. Safe to call twice and
        before `start()`.

        Args:
            timeout: Seconds to wait for the thread to end.
        """
        with self._lock:
            self._stopping = True
            self._command = STOP
            wake = self._wake
            thread = self._thread
        if thread is None:
            self._finished = True
            self._unregister_module()
            return
        if wake is not None:
            wake()
        loop = self.loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._cancel_work)
        thread.join(timeout)
        self._unregister_module()
        if thread.is_alive():
            logger.warning(
                "The pipeline thread of %s did not end within %.1f s; it is left "
                "running as a daemon thread.",
                self.spec.path,
                timeout,
            )
            if self._thread_id is not None:
                remove_route(self._thread_id)

    # --- helpers --------------------------------------------------------------

    def _unregister_module(self) -> None:
        # Function mode registers the file under its stem, as an import would.
        module = self._module
        if module is not None and sys.modules.get(module.__name__) is module:
            del sys.modules[module.__name__]
