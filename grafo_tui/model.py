"""Display state of one run, folded from the engine's events (no Textual here)."""

from __future__ import annotations

from collections import Counter, deque

from grafo_core import events
from grafo_core.events import NodeState
from grafo_tui.model_handlers import HANDLERS, OTHER_RUN_HANDLERS
from grafo_tui.model_views import (
    NODE_COLOURS,
    RETRYABLE,
    LogLine,
    LoopBlock,
    NodeView,
    OtherRun,
    RunSpan,
    error_message,
    error_summary,
    escape_control,
    format_chunk,
    innermost_user_frame,
    short_location,
)

__all__ = [
    "NODE_COLOURS",
    "RETRYABLE",
    "LogLine",
    "LoopBlock",
    "NodeView",
    "OtherRun",
    "RunModel",
    "RunSpan",
    "error_message",
    "error_summary",
    "escape_control",
    "format_chunk",
    "innermost_user_frame",
    "short_location",
]


_OUTCOMES = {
    NodeState.TIMED_OUT: ("timed out", "timed out"),
    NodeState.CANCELLED: ("was cancelled", "were cancelled"),
    NodeState.SKIPPED: ("was skipped", "were skipped"),
}
"""Verb phrases for the end of nodes in a state: (one node, several nodes).
Other nodes read "failed": they failed, or they are in `failed_ids` and were
removed since."""

_MAX_NAMED = 3
"""Labels named in one list of `why_not_running`; the rest are counted."""


def _join(items: list[str]) -> str:
    """Return "a", "a and b", "a, b and c" or "a, b, c and 4 more"."""
    if len(items) > _MAX_NAMED:
        named = items[:_MAX_NAMED]
        return f"{', '.join(named)} and {len(items) - _MAX_NAMED} more"
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


class RunModel:
    """Per-node display state of one run, rebuilt from its event stream.

    `apply` folds one event; `structure_version` grows whenever nodes or edges
    change, so a view can tell when to rebuild its layout.

    The model belongs to the run whose `RunStarted` it receives first. Events
    of other runs (script mode can run two executors at once) leave it
    unchanged: their start, hold and finish only give Log lines that name
    them.
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
        """The node whose breakpoint paused the run while it still waits to
        start there, or `None`."""
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
        self.other_runs: dict[str, OtherRun] = {}
        """Run id -> runs not shown here that started and have not finished."""
        self.nodes_started = False
        """Whether a node was queued or started, so the run's first graph is
        complete and later additions get Log lines."""
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

    def for_next_run(self) -> RunModel:
        """Return an empty model for the run that starts next.

        It contains the runs that are still going, this model's own
        included, so the Log lines of their ends name them.
        """
        model = RunModel()
        model.other_runs = dict(self.other_runs)
        if self.run_id and not self.is_finished:
            started_at = self.started_at if self.started_at is not None else 0.0
            model.other_runs[self.run_id] = OtherRun(self.description, started_at)
        return model

    def apply(self, event: events.Event) -> LogLine | None:
        """Fold one event into the model; return the log line it produces, if any."""
        handler = HANDLERS.get(type(event))
        if handler is None:
            return None
        run_id = event.run_id
        if run_id != self.run_id and (self.run_id or run_id in self.other_runs):
            other_handler = OTHER_RUN_HANDLERS.get(type(event))
            return other_handler(self, event) if other_handler is not None else None
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
        """Return the descendants that no root reaches once `node_id` is gone,
        breadth-first: the nodes that `remove(node_id, cascade=True)` removes
        with it. A root is never one."""
        reached: set[str] = set()
        stack = [root_id for root_id in self.root_ids if root_id != node_id]
        while stack:
            current = stack.pop()
            if current not in reached and current != node_id:
                reached.add(current)
                stack.extend(self._children(current))
        orphans: list[str] = []
        seen = {node_id}
        queue = deque(self._children(node_id))
        while queue:
            child_id = queue.popleft()
            if child_id in seen or child_id in reached or child_id not in self.nodes:
                continue
            seen.add(child_id)
            orphans.append(child_id)
            queue.extend(self._children(child_id))
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
        if self.held is not None:
            return self._explain_held(node)
        # After a failure the engine queues only nodes that a retry reset,
        # and only a retry sends `NodeReset`, the one event that leaves a
        # waiting node with an `end_reason`. Those nodes start as usual.
        if node.state is NodeState.READY:
            if self.paused_at == node_id:
                return "The run paused at its breakpoint: step (s) or resume (p)."
            return self._explain_ready()
        if self.failed_ids and node.end_reason is None:
            return f"No new node starts because {self._outcomes(self.failed_ids)}."
        return self._explain_waiting(node)

    def _explain_finished(self, node: NodeView) -> str:
        text = f"It ended: {node.state.value.replace('_', ' ')}."
        if node.end_reason:
            # The reason keeps its case: the caller of `cancel` may have written it.
            text += f" Reason: {node.end_reason.rstrip('.')}."
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

    def _explain_held(self, node: NodeView) -> str:
        # A held run starts nothing until a retry, so a waiting node's
        # parents that ended without success are what it needs.
        ended = self._ended_parents(node)
        if ended:
            cause = f" because {self._outcomes(ended)}"
        elif self.failed_ids:
            cause = f" because {self._outcomes(self.failed_ids)}"
        else:
            cause = f" ({escape_control(self.held or '')})"
        return (
            f"The run is held{cause}: nothing starts until a node is retried (t),"
            " and e ends the run."
        )

    def _explain_waiting(self, node: NodeView) -> str:
        if not node.parents and not node.is_root:
            return "It has no parent left, so it never starts."
        waiting_for = [
            f"{self.label(parent_id)} ({self._state_name(parent_id)})"
            for parent_id in node.parents
            if self._completions(parent_id) == 0
            and not self._state_is_finished(parent_id)
        ]
        ended = self._ended_parents(node)
        sentences = []
        if waiting_for:
            sentences.append(f"Waiting for parents to finish: {_join(waiting_for)}.")
        if ended:
            if len(ended) == 1:
                start, end = "Its parent", "that parent is retried"
            else:
                start, end = "Its parents", "those parents are retried"
            sentences.append(
                f"{start} {self._outcomes(ended)}, so it starts only once {end} (t)."
            )
        if not sentences:
            sentences.append("Every parent finished; it is about to be queued.")
        if self.paused:
            sentences.append("The run is paused.")
        return " ".join(sentences)

    def _ended_parents(self, node: NodeView) -> list[str]:
        """Return the parents that ended without a successful run."""
        return [
            parent_id
            for parent_id in node.parents
            if self._completions(parent_id) == 0 and self._state_is_finished(parent_id)
        ]

    def _outcomes(self, node_ids: list[str]) -> str:
        """Return how the nodes ended, such as "a and b failed and c timed out"."""
        groups: dict[tuple[str, str], list[str]] = {}
        for node_id in node_ids:
            node = self.nodes.get(node_id)
            state = node.state if node is not None else None
            outcome = _OUTCOMES.get(state, ("failed", "failed"))
            groups.setdefault(outcome, []).append(self.label(node_id))
        return " and ".join(
            f"{_join(labels)} {outcome[len(labels) > 1]}"
            for outcome, labels in groups.items()
        )

    def _state_name(self, node_id: str) -> str:
        node = self.nodes.get(node_id)
        return node.state.value.replace("_", " ") if node else "removed"

    def _state_is_finished(self, node_id: str) -> bool:
        node = self.nodes.get(node_id)
        return node is not None and node.state.is_finished

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
