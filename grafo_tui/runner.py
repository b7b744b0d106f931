"""Run a pipeline file on its own thread and event loop, and report what happens.

Everything the pipeline does reaches the caller through one
`queue.SimpleQueue`: the engine's events, plus the messages defined here.
Commands go the other way as calls scheduled on the pipeline's event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import logging
import queue
import sys
import threading
import time
import types
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grafo_core
from grafo_core import events
from grafo_tui.loader import (
    LoadError,
    LoadSpec,
    PipelineFile,
    async_functions_of,
    build_executor,
    create_module,
    describe_user_exception,
    execute_module,
    pipeline_environment,
    read_pipeline_file,
    resolve_builder,
)
from grafo_tui.output_capture import (
    OutputRoute,
    OutputWritten,
    captured_output,
    reinstall_proxies,
    remove_route,
)

__all__ = [
    "ExecutorAttached",
    "Notice",
    "OutputWritten",
    "PipelineEnded",
    "PipelineRunner",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Notice:
    """One line of information for the user."""

    text: str


@dataclass(frozen=True, slots=True)
class ExecutorAttached:
    """A run is about to start. Its `RunStarted` and later events follow."""

    executor: grafo_core.TreeExecutor


@dataclass(frozen=True, slots=True)
class PipelineEnded:
    """The file's work is over (every run done), or it failed.

    Attributes:
        error: A load or script error to show before exiting non-zero, or
            `None`.
        failed_nodes: Nodes that failed or timed out, summed over all runs.
    """

    error: LoadError | None
    failed_nodes: int


# --- the runner -----------------------------------------------------------------


_RERUN = "rerun"
_STOP = "stop"

MAX_QUEUED_EVENTS = 100_000
"""Queue length above which the pipeline thread waits for the consumer.

A node that yields chunks in a tight loop produces events faster than the
screen applies them (about 60,000 a second on a 2-CPU machine), so without a
limit the queue, and memory, would grow with the run's length.
"""

_CHECK_EVERY = 1024

_GRAPH_EVENTS = frozenset({events.RunStarted, events.NodeAdded, events.EdgeAdded})
"""The events that describe a run's graph before its first node starts."""
"""Events put between two checks of the queue's length."""

_STALLED_AFTER = 1.0
"""Seconds without the queue shrinking after which the consumer counts as gone."""


class _ThrottledPut:
    """The engine subscriber that puts events on the queue, with backpressure.

    Every `_CHECK_EVERY` events it checks the queue's length. Above
    `MAX_QUEUED_EVENTS` it blocks the pipeline thread, and so the pipeline's
    event loop, until the consumer has taken the queue down to half that.
    Nothing is dropped. If the queue stops shrinking for `_STALLED_AFTER`
    seconds, nobody is consuming, so it stops waiting until the queue is
    short again rather than block the pipeline for ever.

    NOTE: while the thread waits, no node makes progress but wall-clock time
    passes, so a node's timeout can expire during the wait.
    """

    def __init__(
        self, target: queue.SimpleQueue[Any], stopping: Callable[[], bool]
    ) -> None:
        self._put = target.put
        self._size = target.qsize
        self._stopping = stopping
        self._count = 0
        self._consumer_gone = False
        self.waits = 0
        """How many times the pipeline thread waited for the consumer."""

    def __call__(self, item: Any) -> None:
        self._put(item)
        self._count += 1
        if self._count % _CHECK_EVERY:
            return
        size = self._size()
        if self._consumer_gone:
            self._consumer_gone = size > MAX_QUEUED_EVENTS // 2
        elif size > MAX_QUEUED_EVENTS:
            self._wait()

    def _wait(self) -> None:
        self.waits += 1
        smallest = self._size()
        progress_at = time.monotonic()
        while not self._stopping():
            size = self._size()
            if size <= MAX_QUEUED_EVENTS // 2:
                return
            now = time.monotonic()
            if size < smallest:
                smallest = size
                progress_at = now
            elif now - progress_at > _STALLED_AFTER:
                self._consumer_gone = True
                return
            time.sleep(0.002)


class PipelineRunner:
    """Run a pipeline file on a thread of its own and report on `queue`.

    The thread runs passes: a pass loads the file and runs its trees, then
    sends `PipelineEnded` and waits for `rerun()` or `stop()`. Every run of a
    `TreeExecutor` on the thread is found with `grafo_core.observe_runs`, so
    script mode shows trees that code the tool did not write creates.

    Attributes:
        spec: What to load.
        queue: Engine events and this module's messages, in order.
        module_doc: The file's docstring, read without executing the file.
        functions: Top-level async and async generator functions of the file,
            filled once the module is loaded.
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
        self.executor: grafo_core.TreeExecutor | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.tree_sent = threading.Event()
        """Set once the first run has put its whole graph on the queue, or
        the first pass of the pipeline has ended without a run."""

        self._checked_pipeline: PipelineFile | None = None
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

        # Reset by every pass, and touched only on the pipeline thread.
        self._main_task: asyncio.Task[Any] | None = None
        self._run_tasks: set[asyncio.Task[Any]] = set()
        self._attached: dict[int, tuple[grafo_core.TreeExecutor, Callable[[], Any]]]
        self._attached = {}
        self._run_errors: list[list[BaseException]] = []
        self._runs_started = 0
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._call_tasks: set[asyncio.Future[None]] = set()

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
            self._command = _RERUN
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
            self._command = _STOP
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

    # --- the pipeline thread --------------------------------------------------

    def _run_thread(self) -> None:
        self._thread_id = threading.get_ident()
        stop_observing = grafo_core.observe_runs(self._on_run_starting)
        try:
            with captured_output(self.queue.put, reads_input=self.reads_input) as route:
                while self._run_pass(route) == _RERUN:
                    pass
        except BaseException as exc:
            # A bug here, or a SystemExit or KeyboardInterrupt from the
            # pipeline that escaped, must not leave the consumer waiting for
            # PipelineEnded. The thread is a daemon: nothing else catches it.
            logger.exception("The pipeline thread of %s failed", self.spec.path)
            if not self._finished:
                self._finished = True
                message = f"grafo-tui failed while running {self.spec.path}: {exc!r}"
                self.queue.put(PipelineEnded(LoadError(message), 0))
        finally:
            stop_observing()
            self._detach_all()
            self.loop = None
            self._finished = True
            self.tree_sent.set()

    def _run_pass(self, route: OutputRoute) -> str:
        """Load and run the file once, send `PipelineEnded`, then wait for a command.

        Function mode keeps the pass's event loop for the wait, so calls
        submitted after the run still reach the executor on its own loop.
        """
        self._detach_all()
        self._run_errors = []
        self._runs_started = 0
        self._run_tasks = set()
        pipeline = self._checked_pipeline
        self._checked_pipeline = None
        if pipeline is None:
            try:
                pipeline = self._read()
            except LoadError as exc:
                self._end_pass(route, exc)
                return self._wait_for_command(None)

        if pipeline.is_script:
            error = self._run_script(pipeline)
            self._end_pass(route, error)
            return self._wait_for_command(None)
        with asyncio.Runner() as runner:
            error = self._run_function(pipeline, runner)
            self._end_pass(route, error)
            return self._wait_for_command(runner)

    def _run_script(self, pipeline: PipelineFile) -> LoadError | None:
        # The script calls asyncio.run() itself; _on_run_starting finds its loop.
        module = create_module(pipeline)
        self._set_module(module)
        self._in_pass = True
        try:
            with pipeline_environment(pipeline):
                execute_module(pipeline, module)
        except LoadError as exc:
            return exc
        except asyncio.CancelledError:
            return None
        finally:
            self._in_pass = False
            self.loop = None
            self._fail_pending_calls()
        if self._runs_started == 0 and not self._stopping:
            return LoadError(
                f"{pipeline.path} ran to its end without running a TreeExecutor, "
                f"so there is no tree to show. Run one under "
                f'`if __name__ == "__main__":` with `asyncio.run(...)`, define a '
                f"top-level build() that returns the tree, or pass PATH:NAME."
            )
        return None

    def _run_function(
        self, pipeline: PipelineFile, runner: asyncio.Runner
    ) -> LoadError | None:
        module = self._preloaded_module
        self._preloaded_module = None
        loop = runner.get_loop()
        self.loop = loop
        self._in_pass = True
        try:
            if self._stopping:
                return None
            with pipeline_environment(pipeline):
                main = loop.create_task(self._build_and_run(pipeline, module))
                return self._run_main_task(pipeline, loop, main)
        except LoadError as exc:
            return exc
        except asyncio.CancelledError:
            return None
        finally:
            self._in_pass = False

    def _run_main_task(
        self,
        pipeline: PipelineFile,
        loop: asyncio.AbstractEventLoop,
        main: asyncio.Task[None],
    ) -> LoadError | None:
        """Run the loop until `main` ends, surviving SystemExit and KeyboardInterrupt.

        asyncio lets these two exceptions escape the event loop when a task
        raises them, so a node that raises one would stop the whole pipeline
        without a report. The task has recorded the exception by then, so
        running the loop again lets the engine report that node as failed
        and the run go on as for any other failure.
        """
        while True:
            try:
                loop.run_until_complete(main)
                return None
            except (SystemExit, KeyboardInterrupt) as exc:
                if main.done():
                    # The builder itself raised it, not a node.
                    return LoadError(
                        describe_user_exception(
                            exc, f"Building the tree of {pipeline.path}"
                        )
                    )
                self.queue.put(
                    Notice(
                        f"A node raised {type(exc).__name__}, which would stop "
                        f"the program; grafo-tui reports it as that node's "
                        f"failure instead."
                    )
                )

    async def _build_and_run(
        self, pipeline: PipelineFile, module: types.ModuleType | None
    ) -> None:
        self._main_task = asyncio.current_task()
        try:
            if module is None:
                module = create_module(pipeline)
                self._set_module(module)
                execute_module(pipeline, module)
            builder = resolve_builder(module, pipeline)
            executor = await build_executor(builder, pipeline)
            self.executor = executor
            # `run()` would return every output and Chunk of the run in one
            # list, which nobody reads here; `yielding()` lets each go at once.
            async for _ in executor.yielding():
                pass
        finally:
            self._main_task = None

    def _end_pass(self, route: OutputRoute, error: LoadError | None) -> None:
        failed_nodes = sum(len(errors) for errors in self._run_errors)
        route.flush("stdout")
        route.flush("stderr")
        self._finished = True
        self.queue.put(PipelineEnded(error, failed_nodes))
        self.tree_sent.set()  # a pass that ended has sent all it will send

    def _wait_for_command(self, runner: asyncio.Runner | None) -> str:
        if runner is not None:
            return runner.run(self._receive_command())
        with asyncio.Runner() as idle_runner:
            return idle_runner.run(self._receive_command())

    async def _receive_command(self) -> str:
        loop = asyncio.get_running_loop()
        received = asyncio.Event()

        def wake() -> None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(received.set)

        with self._lock:
            if self._command is None:
                self._wake = wake
                # Calls submitted between passes run on this loop.
                self.loop = loop
        try:
            if self._command is None:
                await received.wait()
        finally:
            with self._lock:
                self._wake = None
                self.loop = None
                command = self._command or _STOP
                if command == _RERUN:
                    self._command = None
            self._fail_pending_calls()
        return command

    def _on_run_starting(self, executor: grafo_core.TreeExecutor) -> None:
        if threading.get_ident() != self._thread_id:
            return
        task = asyncio.current_task()
        self.loop = asyncio.get_running_loop()
        if task is not None:
            self._run_tasks = {t for t in self._run_tasks if not t.done()}
            self._run_tasks.add(task)

        self._runs_started += 1
        self.executor = executor
        if self.hold_on_error:
            executor.hold_on_error = True
        reinstall_proxies()
        if self._module is not None:
            self.functions = async_functions_of(self._module)
        self.queue.put(ExecutorAttached(executor))
        # The engine gives each run a new `errors` list before calling run
        # observers and appends every failed or timed-out node to it.
        self._run_errors.append(executor.errors)
        key = id(executor)
        if key not in self._attached:
            put = _ThrottledPut(self.queue, lambda: self._stopping)
            unsubscribe = executor.subscribe(put)
            self._attached[key] = (executor, unsubscribe)
            if not self.tree_sent.is_set():
                self._watch_graph(executor)
        if self._stopping and task is not None:
            task.cancel()

    def _watch_graph(self, executor: grafo_core.TreeExecutor) -> None:
        """Set `tree_sent` at the first event after the run's graph."""

        def note(event: events.Event) -> None:
            if type(event) not in _GRAPH_EVENTS:
                self.tree_sent.set()
                stop()

        stop = executor.subscribe(note)

    def _detach_all(self) -> None:
        for _, unsubscribe in self._attached.values():
            unsubscribe()
        self._attached = {}

    def _cancel_work(self) -> None:
        """Cancel the pass's main task and every task awaiting a run (on its loop)."""
        if not self._in_pass:
            return
        tasks = [task for task in self._run_tasks if not task.done()]
        if self._main_task is not None and not self._main_task.done():
            tasks.append(self._main_task)
        if not tasks:
            # A script between two runs: its own main task is somewhere here.
            with contextlib.suppress(RuntimeError):
                tasks = list(asyncio.all_tasks())
        for task in tasks:
            task.cancel("grafo-tui is stopping the pipeline")

    def _start_call(
        self,
        fn: Callable[[grafo_core.TreeExecutor], Any],
        future: concurrent.futures.Future[Any],
    ) -> None:
        if not future.set_running_or_notify_cancel():
            return
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        try:
            result = fn(self.executor)  # type: ignore[arg-type]
        except Exception as exc:
            future.set_exception(exc)
            return
        if not inspect.isawaitable(result):
            future.set_result(result)
            return

        async def finish() -> None:
            try:
                value = await result
            except asyncio.CancelledError:
                # A running concurrent future can no longer be cancelled.
                future.set_exception(RuntimeError("the call was cancelled"))
                raise
            except Exception as exc:
                future.set_exception(exc)
            else:
                future.set_result(value)

        # The loop keeps only weak references to tasks, so keep this one.
        task = asyncio.ensure_future(finish())
        self._call_tasks.add(task)
        task.add_done_callback(self._call_tasks.discard)

    def _fail_pending_calls(self) -> None:
        for future in list(self._pending):
            with contextlib.suppress(concurrent.futures.InvalidStateError):
                future.set_exception(
                    RuntimeError("the pipeline's event loop ended before the call")
                )
        self._pending.clear()

    # --- helpers --------------------------------------------------------------

    def _read(self) -> PipelineFile:
        pipeline = read_pipeline_file(self.spec)
        self.module_doc = pipeline.docstring
        self._send_grafo_notice(pipeline)
        return pipeline

    def _unregister_module(self) -> None:
        # Function mode registers the file under its stem, as an import would.
        module = self._module
        if module is not None and sys.modules.get(module.__name__) is module:
            del sys.modules[module.__name__]

    def _set_module(self, module: types.ModuleType) -> None:
        self._module = module
        self.functions = async_functions_of(module)

    def _send_grafo_notice(self, pipeline: PipelineFile) -> None:
        if pipeline.uses_grafo and not self._grafo_notice_sent:
            self._grafo_notice_sent = True
            self.queue.put(
                Notice(
                    f"{pipeline.path.name} imports grafo; it runs with grafo_core, "
                    f"which has the same API."
                )
            )
