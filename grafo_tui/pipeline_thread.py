"""The part of `PipelineRunner` that loads and runs the file on the pipeline thread."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import logging
import threading
import types
from collections.abc import Callable
from typing import Any

import grafo_core
from grafo_core import events
from grafo_core.events import NodeState
from grafo_tui.backpressure import ThrottledPut
from grafo_tui.loader import (
    LoadError,
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
from grafo_tui.output_capture import OutputRoute, captured_output, reinstall_proxies
from grafo_tui.pipeline_messages import ExecutorAttached, Notice, PipelineEnded

logger = logging.getLogger(__name__)

RERUN = "rerun"
STOP = "stop"

_GRAPH_EVENTS = frozenset({events.RunStarted, events.NodeAdded, events.EdgeAdded})

_NODE_ENDS = frozenset(
    {
        events.NodeSucceeded,
        events.NodeFailed,
        events.NodeTimedOut,
        events.NodeCancelled,
    }
)
"""The events that describe a run's graph before its first node starts."""

_FAILED_STATES = frozenset({NodeState.FAILED, NodeState.TIMED_OUT})


class FailedNodeCounter:
    """An engine subscriber that counts the nodes whose last state in their
    run is failed or timed out, summed over every run it is subscribed to.

    A node counts once per run however often it failed, and stops counting
    when a retry makes it succeed. A node removed while failed or timed out
    still counts, as it does in the screen's status line.
    """

    def __init__(self) -> None:
        self.count = 0
        """The number of such nodes; the pipeline thread alone changes it."""
        # Run id -> ids of the nodes failed or timed out now, in the latest
        # run under that id (an executor that runs again keeps its name).
        self._failed: dict[str, set[str]] = {}

    def __call__(self, event: events.Event) -> None:
        kind = type(event)
        state = events.STATE_AFTER.get(kind)
        if state is None:
            if kind is events.RunStarted:
                self._failed[event.run_id] = set()
            elif kind is events.NodeRemoved:
                # Forget the node without lowering the count: it ended failed.
                self._failed.get(event.run_id, set()).discard(event.node_id)
            return
        failed = self._failed.get(event.run_id)
        if failed is None:
            return
        if state in _FAILED_STATES:
            if event.node_id not in failed:
                failed.add(event.node_id)
                self.count += 1
        elif event.node_id in failed:
            failed.discard(event.node_id)
            self.count -= 1


class PipelineThreadMixin:
    """The pipeline thread's passes, and the submitted calls it runs on its loop.

    `PipelineRunner` is the only subclass, and its constructor sets every
    attribute these methods use.
    """

    def _run_thread(self) -> None:
        self._thread_id = threading.get_ident()
        stop_observing = grafo_core.observe_runs(self._on_run_starting)
        try:
            with captured_output(self.queue.put, reads_input=self.reads_input) as route:
                self._route = route
                while self._run_pass(route) == RERUN:
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

        self.entry_point = pipeline.function_name
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
        route.flush_all()
        self._finished = True
        self.queue.put(PipelineEnded(error, self._failed_nodes.count))
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
                command = self._command or STOP
                if command == RERUN:
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
        if self.entry_point is None and task is not None:
            name = getattr(task.get_coro(), "__name__", None)
            if name in self.functions:
                self.entry_point = name
        self.queue.put(ExecutorAttached(executor))
        key = id(executor)
        if key not in self._attached:
            put = ThrottledPut(self.queue, lambda: self._stopping)
            # Before `put`, so a node's unfinished last line comes before the
            # event that ends the node.
            unsubscribe_lines = executor.subscribe(self._end_lines_of_ended_node)
            unsubscribe_put = executor.subscribe(put)
            unsubscribe_counter = executor.subscribe(self._failed_nodes)

            def unsubscribe() -> None:
                unsubscribe_lines()
                unsubscribe_put()
                unsubscribe_counter()

            self._attached[key] = (executor, unsubscribe)
            if not self.tree_sent.is_set():
                self._watch_graph(executor)
        if self._stopping and task is not None:
            task.cancel()

    def _end_lines_of_ended_node(self, event: events.Event) -> None:
        """Send what a node that just ended printed without a final line
        break, under that node."""
        if type(event) in _NODE_ENDS and self._route is not None:
            self._route.flush_node(event.node_id)

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
