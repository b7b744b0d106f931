"""The debugging controls of `TreeExecutor`: breakpoints, injected faults,
holding a failed run open, retries and where a running node waits."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from grafo_core import _run
from grafo_core._run import Run
from grafo_core.introspect import DRIVE_CODE, await_chain

if TYPE_CHECKING:
    from grafo_core.node import Node

logger = logging.getLogger("grafo_core.executor")


class Debugging:
    """The part of `TreeExecutor` that debugging tools call. The methods use
    the state that `TreeExecutor.__init__` sets."""

    _name: str
    _run: Run | None
    _breakpoints: set[str]
    _faults: dict[str, tuple[float, str | None]]
    _hold_on_error: bool

    @property
    def breakpoints(self) -> frozenset[str]:
        """The uuids of nodes with a breakpoint."""
        return frozenset(self._breakpoints)

    def set_breakpoint(self, node_id: str, *, enabled: bool = True) -> None:
        """Pause the run just before the node `node_id` starts, on every run of
        it, until the breakpoint is removed with ``enabled=False``. `resume()`
        or `step()` then starts it."""
        if not isinstance(node_id, str):
            raise TypeError(f"set_breakpoint() needs a node uuid, got {node_id!r}")
        if enabled:
            self._warn_if_unknown(node_id, "set_breakpoint")
            self._breakpoints.add(node_id)
        else:
            self._breakpoints.discard(node_id)

    def inject_fault(
        self, node_id: str, *, error: str | None = None, delay: float = 0.0
    ) -> None:
        """Make the next run of `node_id` take `delay` more seconds (counted in
        its timeout) and then, when `error` is given, fail with `InjectedFault`.
        """
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            raise ValueError(f"delay must be 0 or more seconds, got {delay!r}")
        if error is None and not delay:
            self._faults.pop(node_id, None)
            return
        self._warn_if_unknown(node_id, "inject_fault")
        self._faults[node_id] = (float(delay), error)

    @property
    def hold_on_error(self) -> bool:
        """Whether a run that would end with failed, timed-out or cancelled
        nodes stays open (sending `RunHeld`) until `release()`, so that
        `retry()` can still run them."""
        return self._hold_on_error

    @hold_on_error.setter
    def hold_on_error(self, value: bool) -> None:
        self._hold_on_error = bool(value)
        if not value and self._run is not None:
            self._run.check_done()

    def release(self) -> None:
        """Let a run kept open by `hold_on_error` end."""
        self._require_run("release").release()

    def retry(self, node: Node[Any] | str) -> bool:
        """Run a failed, timed-out or cancelled node again in the current run.

        The nodes its failure skipped go back to waiting, so its descendants
        run as usual once it succeeds. Returns whether the node could be
        retried; a run stopped by `stop_tree()` or cancelled cannot.
        """
        run = self._require_run("retry")
        target = self._resolve(node)
        if run.retry(target):
            return True
        if run.done.done():
            logger.warning(
                "retry ignored: run %r has ended, so node %r cannot run again in "
                "it; set hold_on_error = True to keep a run with failures open "
                "for retries",
                self._name,
                target.uuid,
            )
            return False
        if run.stopping and not run.stopped_by_failure:
            logger.warning(
                "retry ignored: run %r is stopping (stop_tree() or a cancel), "
                "so node %r cannot run again",
                self._name,
                target.uuid,
            )
            return False
        logger.warning(
            "retry ignored: node %r is %s, not failed, timed out or cancelled",
            target.uuid,
            run.state_of(target).value,
        )
        return False

    def where(self, node_id: str) -> list[tuple[str, int, str]]:
        """Return ``(file, line, function)`` for each frame of a running node,
        from its coroutine to the innermost `await` it is suspended in.

        Call it on the run's event loop. Returns an empty list for a node that
        is not running.
        """
        run = self._require_run("read where a node waits")
        node = self.node(node_id)
        task = run.task_of(node)
        if task is None:
            return []
        driver = task.get_coro()
        frame = getattr(driver, "cr_frame", None)
        if frame is None or frame.f_code is not DRIVE_CODE:
            # A task factory wrapped the scheduler's coroutine, so skip the
            # scheduler's own frames.
            frames = await_chain(driver, node._generator)
            return [frame for frame in frames if frame[0] != _run.__file__]
        coroutine = frame.f_locals.get("coroutine")
        if coroutine is None:  # the task has not taken its first step
            code = node.coroutine.__code__
            return [(code.co_filename, code.co_firstlineno, code.co_name)]
        return await_chain(coroutine, node._generator)

    def _warn_if_unknown(self, node_id: str, action: str) -> None:
        """Warn when no node has uuid `node_id` yet: likely a typo, though a
        node added later with that uuid still picks the setting up."""
        try:
            self.node(node_id)
        except KeyError:
            logger.warning(
                "%s(%r): executor %r has no node with that uuid yet; it applies "
                "only if one is added later (uuids are case-sensitive)",
                action,
                node_id,
                self._name,
            )
