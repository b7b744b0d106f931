"""Display state of one run, folded from the engine's events (no Textual here)."""

from __future__ import annotations

from collections import Counter

from grafo_core import events
from grafo_core.events import NodeState
from grafo_tui.model_handlers import HANDLERS
from grafo_tui.model_views import (
    NODE_COLOURS,
    RETRYABLE,
    LogLine,
    LoopBlock,
    NodeView,
    RunSpan,
    error_summary,
    escape_control,
    format_chunk,
    short_location,
)

__all__ = [
    "NODE_COLOURS",
    "RETRYABLE",
    "LogLine",
    "LoopBlock",
    "NodeView",
    "RunModel",
    "RunSpan",
    "error_summary",
    "escape_control",
    "format_chunk",
    "short_location",
]


class RunModel:
    """Per-node display state of one run, rebuilt from its event stream.

    `apply` folds one event; `structure_version` grows whenever nodes or edges
    change, so a view can tell when to rebuild its layout.
    """

    def __init__(self, run_id: str = "", description: str = "") -> None:
        self.run_id = run_id
        self.description = description
        self.nodes: dict[str, NodeView] = {}
        self.root_ids: list[str] = []
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.paused = False
        self.max_workers: int | None = None
        self.cancelled = False
        self.error_count = 0
        self.failed_ids: list[str] = []
        """Nodes whose failure or timeout stopped the run from starting others."""
        self.max_running = 0
        self.structure_version = 0
        self.held: str | None = None
        """Why the run is held open for retries (`RunHeld`), or `None`."""
        self.paused_at: str | None = None
        """The node whose breakpoint paused the run, or `None`."""
        self.running_history: list[tuple[float, int]] = []
        """``(time, running count)`` after every change of the running count."""
        self.blocking: LoopBlock | None = None
        """The event loop block going on now, or `None`."""
        self.block_count = 0
        self.longest_block = 0.0
        self.error_counts: Counter[str] = Counter()
        """Node id -> `NodeFailed` and `NodeTimedOut` events of that node."""
        self.removed_failures: Counter[NodeState] = Counter()
        """Nodes removed while failed or timed out, per state. Their errors
        still count in the run's `RunFinished.error_count`."""
        self.removed_errors: Counter[str] = Counter()
        """Node id -> errors of that node, for nodes removed after an error."""
        self._running: set[str] = set()
        self._added = 0
        # The node whose failure the next `NodeSkipped` events may follow
        # from, with its descendants and the reason they were skipped for.
        self._skip_cause: str | None = None
        self._cause_descendants: set[str] | None = None
        self._cause_reason: str | None = None

    def __repr__(self) -> str:
        return (
            f"RunModel(run_id={self.run_id!r}, nodes={len(self.nodes)}, "
            f"running={len(self._running)}, finished={self.is_finished})"
        )

    @property
    def is_started(self) -> bool:
        """Whether the run's `RunStarted` event arrived."""
        return self.started_at is not None

    @property
    def is_finished(self) -> bool:
        """Whether the run's `RunFinished` event arrived."""
        return self.finished_at is not None

    @property
    def running_count(self) -> int:
        """Nodes running now."""
        return len(self._running)

    def elapsed(self, now: float) -> float:
        """Return seconds from the run's start to its end, or to `now`."""
        if self.started_at is None:
            return 0.0
        end = self.finished_at if self.finished_at is not None else now
        return max(0.0, end - self.started_at)

    def counts(self) -> Counter[NodeState]:
        """Return the number of nodes in each state."""
        return Counter(node.state for node in self.nodes.values())

    def label(self, node_id: str) -> str:
        """Return the label of a node, or its id when the node is unknown."""
        node = self.nodes.get(node_id)
        return node.label if node is not None else node_id

    def top_level_ids(self) -> list[str]:
        """Return roots, then nodes that have no parent (left), in added order."""
        ids = [node_id for node_id in self.root_ids if node_id in self.nodes]
        seen = set(ids)
        for node_id, node in self.nodes.items():
            if not node.parents and node_id not in seen:
                ids.append(node_id)
        return ids

    def apply(self, event: events.Event) -> LogLine | None:
        """Fold one event into the model; return the log line it produces, if any."""
        handler = HANDLERS.get(type(event))
        if handler is None:
            return None
        if type(event) is not events.NodeSkipped:
            self._skip_cause = None
        return handler(self, event)

    def loop_blocked(
        self, node_id: str | None, file: str, line: int, function: str, since: float
    ) -> None:
        """Record that the pipeline's event loop is blocked, by `node_id` if known."""
        block = LoopBlock(node_id, short_location(file, line), function, since)
        self.blocking = block
        node = self.nodes.get(node_id) if node_id is not None else None
        if node is not None:
            node.blocked_at = block.location

    def loop_unblocked(self, node_id: str | None, seconds: float) -> LogLine:
        """Record the end of a block; return its log line."""
        block = self.blocking
        self.blocking = None
        self.block_count += 1
        self.longest_block = max(self.longest_block, seconds)
        node = self.nodes.get(node_id) if node_id is not None else None
        if node is not None:
            node.blocked_at = None
        where = f" at {block.location} in {block.function}" if block else ""
        text = f"blocked the event loop for {seconds:.2f} s{where}"
        if node is None:
            text = f"code outside any node {text}"
        moment = block.since + seconds if block else self.started_at or 0.0
        return LogLine(
            time=self._since_start(moment),
            node_id=node_id,
            label=node.label if node is not None else "event loop",
            text=text,
            kind="warning",
            colour=node.colour if node is not None else 0,
        )

    def running_samples(self, start: float, end: float, count: int) -> list[int]:
        """Return the max number of running nodes in each of `count` equal slices
        of the time from `start` to `end`."""
        if count <= 0:
            return []
        samples = [0] * count
        width = (end - start) / count if end > start else 1.0
        history = self.running_history
        for index, (moment, running) in enumerate(history):
            if not running:
                continue
            following = history[index + 1][0] if index + 1 < len(history) else end
            first = int((moment - start) / width)
            # An interval that ends on a slice boundary does not reach the next slice.
            last = int((following - start) / width - 1e-9)
            for column in range(max(0, first), min(count - 1, max(first, last)) + 1):
                samples[column] = max(samples[column], running)
        return samples

    def orphaned_by_removal(self, node_id: str) -> list[str]:
        """Return the descendants that removing `node_id` leaves without any parent.

        These are the nodes that `remove(node_id, cascade=True)` removes with it.
        A root is never one: it needs no parent to start.
        """
        removed = {node_id}
        pending = list(self._children(node_id))
        orphans: list[str] = []
        while pending:
            child_id = pending.pop(0)
            child = self.nodes.get(child_id)
            if child is None or child_id in removed or child.is_root:
                continue
            if all(parent_id in removed for parent_id in child.parents):
                removed.add(child_id)
                orphans.append(child_id)
                pending.extend(self._children(child_id))
        return orphans

    def why_not_running(self, node_id: str) -> str:
        """Explain in one or two sentences why a node is not running now."""
        node = self.nodes.get(node_id)
        if node is None:
            return f"{node_id!r} is not in the current run."
        if node.state is NodeState.RUNNING:
            return "It is running."
        if node.state.is_finished:
            return self._explain_finished(node)
        if self.is_finished:
            return "The run ended before this node could start."
        if self.failed_ids:
            failed = ", ".join(self.label(i) for i in self.failed_ids)
            return f"No new node starts because {failed} failed."
        if node.state is NodeState.READY:
            if self.paused_at == node_id:
                return "The run paused at its breakpoint: step (s) or resume (p)."
            return self._explain_ready()
        return self._explain_waiting(node)

    def _explain_finished(self, node: NodeView) -> str:
        text = f"It ended: {node.state.value.replace('_', ' ')}."
        if node.end_reason:
            reason = node.end_reason.rstrip(".")
            text += f" Reason: {reason[:1].upper()}{reason[1:]}."
        if self.held and node.state in RETRYABLE:
            text += " The run is held: press t to retry it, e to end the run."
        return text

    def _explain_ready(self) -> str:
        if self.paused:
            return "It is ready, but the run is paused: step (s) or resume (p)."
        limit = self.max_workers
        if limit is not None and self.running_count >= limit:
            running = self.running_count
            return (
                f"It is ready, but {running} nodes are running, the max_workers limit."
            )
        return "It is ready and starts as soon as the engine schedules it."

    def _explain_waiting(self, node: NodeView) -> str:
        if not node.parents and not node.is_root:
            return "It has no parent left, so it never starts."
        waiting_for = [
            f"{self.label(parent_id)} ({self._state_name(parent_id)})"
            for parent_id in node.parents
            if self._completions(parent_id) == 0
        ]
        if waiting_for:
            text = "Waiting for parents to finish: " + ", ".join(waiting_for) + "."
        else:
            text = "Every parent finished; it is about to be queued."
        if self.paused:
            text += " The run is paused."
        return text

    def _state_name(self, node_id: str) -> str:
        node = self.nodes.get(node_id)
        return node.state.value.replace("_", " ") if node else "removed"

    def _completions(self, node_id: str) -> int:
        node = self.nodes.get(node_id)
        return node.completions if node else 0

    def _failure_caused(self, node_id: str, reason: str) -> str | None:
        """Return the failed node whose descendants the engine is skipping
        when `node_id` is skipped as one of them, or `None` otherwise.

        The engine skips a failed node's waiting descendants right after its
        `NodeFailed` or `NodeTimedOut`, all with one reason. The first skip
        that is not one of them ends that burst.
        """
        cause = self._skip_cause
        if cause is None:
            return None
        if self._cause_descendants is None:
            self._cause_descendants = self._descendants(cause)
        same_reason = self._cause_reason is None or self._cause_reason == reason
        if same_reason and node_id in self._cause_descendants:
            self._cause_reason = reason
            return cause
        self._skip_cause = None
        return None

    def _descendants(self, node_id: str) -> set[str]:
        found: set[str] = set()
        pending = self._children(node_id)
        while pending:
            child_id = pending.pop()
            if child_id not in found:
                found.add(child_id)
                pending.extend(self._children(child_id))
        return found

    def _count_error(self, node_id: str) -> None:
        self.error_counts[node_id] += 1
        self._skip_cause = node_id
        self._cause_descendants = None
        self._cause_reason = None

    def _children(self, node_id: str) -> list[str]:
        node = self.nodes.get(node_id)
        return list(node.children) if node else []

    def _since_start(self, time: float) -> float:
        return time - self.started_at if self.started_at is not None else 0.0

    def _line(self, event: events.Event, text: str, kind: str) -> LogLine:
        node = self.nodes.get(event.node_id) if event.node_id else None
        return LogLine(
            time=self._since_start(event.time),
            node_id=event.node_id,
            label=node.label if node else "",
            text=text,
            kind=kind,
            colour=node.colour if node else 0,
        )

    def _node(self, event: events.Event) -> NodeView | None:
        assert event.node_id is not None
        node = self.nodes.get(event.node_id)
        if node is not None:
            node.state = events.STATE_AFTER.get(type(event), node.state)
        return node

    def _end_run(self, node: NodeView, event: events.Event) -> None:
        node.finished_at = event.time
        node.awaiting = ()
        if node.spans and node.spans[-1].end is None:
            node.spans[-1].end = event.time
            node.spans[-1].state = node.state
        self._set_running(event.time, discard=node.node_id)

    def _set_running(
        self, time: float, *, add: str | None = None, discard: str | None = None
    ) -> None:
        before = len(self._running)
        if add is not None:
            self._running.add(add)
        if discard is not None:
            self._running.discard(discard)
        if len(self._running) != before:
            self.running_history.append((time, len(self._running)))
