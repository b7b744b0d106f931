"""The live task tree: one line per placement of a node under each parent."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable

from rich.style import Style
from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from grafo_core.events import NodeState
from grafo_tui.model import NodeView, RunModel

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
"""Frames of the mark of a running node, ten per second."""

STATE_MARKS: dict[NodeState, str] = {
    NodeState.WAITING: "○",
    NodeState.READY: "◎",
    NodeState.RUNNING: SPINNER[0],
    NodeState.SUCCEEDED: "✔",
    NodeState.FAILED: "✘",
    NodeState.TIMED_OUT: "◷",
    NodeState.CANCELLED: "⊘",
    NodeState.SKIPPED: "↷",
}
"""The mark in front of each node, so states read without colour."""

CYCLE_MARK = "↻"
SHARED_MARK = "↗"
"""Marks a node shown again under another parent, its children drawn once."""
BREAKPOINT_MARK = "●"
"""Shown after the label of a node with a breakpoint."""

AUTO_EXPANDED_LINES = 1_000
"""New placements open expanded until their children add up to this many
lines; later ones start collapsed. The children of a collapsed placement get
placements only when it is expanded, so a tree of 10,000 nodes draws its
first frame without building 10,000 lines that do not fit on the screen."""


def state_class(state: NodeState) -> str:
    """Return the component class that colours a node in `state`."""
    return "task-tree--" + state.value.replace("_", "-")


def format_duration(seconds: float | None) -> str:
    """Return a short duration such as "0.25s", "12.3s" or "4m05s"."""
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


# The states that `h` hides, because that work ended as planned.
_HIDABLE = frozenset({NodeState.SUCCEEDED, NodeState.SKIPPED})


class TaskTree(Tree[NodeView]):
    """The nodes of the current run, drawn from a `RunModel`.

    A node with several parents has one `TreeNode` under each of them, all
    sharing its `NodeView`; `placements` indexes them by node id. A node that
    appears again among its own ancestors is drawn once more as a leaf with a
    cycle mark, so cycles never recurse.
    """

    COMPONENT_CLASSES = {
        "task-tree--waiting",
        "task-tree--ready",
        "task-tree--running",
        "task-tree--succeeded",
        "task-tree--failed",
        "task-tree--timed-out",
        "task-tree--cancelled",
        "task-tree--skipped",
        "task-tree--detail",
        "task-tree--alert",
    }

    DEFAULT_CSS = """
    TaskTree > .task-tree--waiting { color: $text-muted; }
    TaskTree > .task-tree--ready { color: $text-secondary; }
    TaskTree > .task-tree--running { color: $text-accent; text-style: bold; }
    TaskTree > .task-tree--succeeded { color: $text-success; }
    TaskTree > .task-tree--failed { color: $text-error; text-style: bold; }
    TaskTree > .task-tree--timed-out { color: $text-error; }
    TaskTree > .task-tree--cancelled { color: $text-warning; }
    TaskTree > .task-tree--skipped { color: $text-muted; }
    TaskTree > .task-tree--detail { color: $text-muted; }
    TaskTree > .task-tree--alert { color: $text-warning; text-style: bold; }
    """

    _deferring_invalidate = False
    _invalidate_deferred = False

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        id: str | None = None,
    ) -> None:
        super().__init__("run", id=id)
        self.show_root = False
        self.clock = clock
        self.model = RunModel()
        self.hide_finished = False
        self.placements: dict[str, list[TreeNode[NodeView]]] = {}
        self._cycle_leaves: set[int] = set()
        # Placements of a node whose subtree is drawn at another placement.
        self._shared_leaves: set[int] = set()
        self._synced_version = -1
        self._reselect_id: str | None = None
        self._auto_expanded_lines = 0

    @property
    def selected_id(self) -> str | None:
        """Id of the node under the cursor, or `None`."""
        node = self.cursor_node
        if node is None or node.data is None:
            return None
        node_id = node.data.node_id
        # Textual keeps the cursor on a cleared node until the next layout,
        # so after `show_model` it may point into the previous run's tree.
        if node not in self.placements.get(node_id, ()):
            return None
        return node_id

    def show_model(self, model: RunModel) -> None:
        """Show another run's model, dropping the previous tree.

        The cursor returns to the same node id once the new run adds it.
        """
        self._reselect_id = self.selected_id or self._reselect_id
        self.model = model
        self.clear()
        self.placements.clear()
        self._cycle_leaves.clear()
        self._shared_leaves.clear()
        self._synced_version = -1
        self._auto_expanded_lines = 0
        self.update()

    def set_hide_finished(self, hide: bool) -> None:
        """Hide or show the nodes that succeeded or were skipped (see
        `_hidden_ids`)."""
        self.hide_finished = hide
        # The nodes that come back are placed again, under the same rule
        # for opening them as when the run first added them.
        self._auto_expanded_lines = 0
        self.update(force_layout=True)

    def update(self, *, force_layout: bool = False) -> None:
        """Bring the tree in line with the model, then repaint once."""
        if (
            force_layout
            or self.hide_finished
            or self._synced_version != self.model.structure_version
        ):
            self._sync_layout()
            self._synced_version = self.model.structure_version
            self._restore_cursor()
        # Labels are drawn from the shared NodeView data, so bumping the tree's
        # update counter is enough to invalidate every cached line at once.
        # NOTE: `_updates` is private to Textual's Tree (checked on 8.2.8).
        self._updates += 1
        self.refresh()

    def _restore_cursor(self) -> None:
        if self._reselect_id is not None and self._reselect_id in self.placements:
            # The placement has no line until the tree is laid out again.
            self.call_after_refresh(
                self._reselect, self.placements[self._reselect_id][0]
            )
            self._reselect_id = None
        elif self.cursor_node is None and self.root.children:
            self.move_cursor(self.root.children[0])

    def _reselect(self, placement: TreeNode[NodeView]) -> None:
        """Move the cursor to `placement` and announce it as highlighted.

        Textual posts `NodeHighlighted` only when the cursor line changes, and
        the same node often has the same line in the new run's tree.
        """
        line = self.cursor_line
        self.move_cursor(placement)
        if self.cursor_line == line and self.cursor_node is placement:
            self.post_message(Tree.NodeHighlighted(placement))

    def move_to(self, node_id: str) -> bool:
        """Move the cursor to the first placement of `node_id`, expanding the
        way to it; return whether the node is in the tree."""
        if node_id not in self.placements:
            self._open_way_to(node_id)
        placements = self.placements.get(node_id)
        if not placements:
            return False
        target = placements[0]
        ancestor = target.parent
        while ancestor is not None:
            ancestor.expand()
            ancestor = ancestor.parent
        self.call_after_refresh(self.move_cursor, target)
        return True

    def _open_way_to(self, node_id: str) -> None:
        """Expand the placements between the drawn tree and `node_id`, which
        sits under a collapsed placement and so has no placement yet."""
        nodes = self.model.nodes
        # Each pass expands one collapsed ancestor; the depth bounds them.
        for _ in range(len(nodes)):
            if node_id in self.placements or node_id not in nodes:
                return
            # Breadth-first up the parents to the nearest drawn ancestor.
            seen: set[str] = set()
            queue = deque([node_id])
            anchor = None
            while queue and anchor is None:
                current = queue.popleft()
                for parent_id in nodes[current].parents:
                    if parent_id in seen or parent_id not in nodes:
                        continue
                    seen.add(parent_id)
                    if self._drawing_placement(parent_id) is not None:
                        anchor = parent_id
                        break
                    queue.append(parent_id)
            if anchor is None:
                return
            placement = self._drawing_placement(anchor)
            assert placement is not None
            if placement.is_expanded:
                # Open, yet the node is not under it: hidden as finished.
                return
            placement.expand()
            self._sync_layout()

    def _drawing_placement(self, node_id: str) -> TreeNode[NodeView] | None:
        """Return the placement of `node_id` that draws its children, if any."""
        for placement in self.placements.get(node_id, ()):
            if (
                placement.id not in self._shared_leaves
                and placement.id not in self._cycle_leaves
            ):
                return placement
        return None

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[NodeView]) -> None:
        view = event.node.data
        if view is not None and view.children and not event.node.children:
            self.update(force_layout=True)

    def render_label(
        self, node: TreeNode[NodeView], base_style: Style, style: Style
    ) -> Text:
        if node.data is None:
            return Text(str(node.label))
        if node.allow_expand and node.data.children:
            icon = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
        else:
            icon = "  "
        label = self.node_text(node)
        label.stylize(style)
        return Text.assemble((icon, base_style), label)

    def node_text(self, node: TreeNode[NodeView]) -> Text:
        """Return a placement's line without the expand icon: mark, label, details."""
        view = node.data
        assert view is not None
        mark_style = self.get_component_rich_style(
            state_class(view.state), partial=True
        )
        detail_style = self.get_component_rich_style("task-tree--detail", partial=True)
        text = Text(no_wrap=True, end="")
        text.append(self._mark(view), style=mark_style)
        text.append(" ")
        text.append(view.label, style=mark_style if view.state.is_finished else "")
        if node.id in self._cycle_leaves:
            text.append(f" {CYCLE_MARK} cycle", style=detail_style)
        elif node.id in self._shared_leaves:
            text.append(self._details(view), style=detail_style)
            text.append(f" {SHARED_MARK} children shown above", style=detail_style)
        else:
            text.append(self._details(view), style=detail_style)
        alert = self._alert(view)
        if alert:
            style = self.get_component_rich_style("task-tree--alert", partial=True)
            text.append(alert, style=style)
        return text

    def _alert(self, view: NodeView) -> str:
        parts = []
        if view.has_breakpoint:
            paused = self.model.paused_at == view.node_id
            parts.append(f"{BREAKPOINT_MARK} {'paused here' if paused else 'break'}")
        if view.blocked_at is not None:
            parts.append(f"blocks the loop at {os.path.basename(view.blocked_at)}")
        if view.fault is not None:
            parts.append("fault armed")
        return "  " + " · ".join(parts) if parts else ""

    def get_label_width(self, node: TreeNode[NodeView]) -> int:
        view = node.data
        if view is None:
            return len(str(node.label))
        return len(view.label) + 24

    def _mark(self, view: NodeView) -> str:
        if view.state is NodeState.RUNNING:
            return SPINNER[int(self.clock() * 10) % len(SPINNER)]
        return STATE_MARKS[view.state]

    def _details(self, view: NodeView) -> str:
        parts = []
        duration = format_duration(view.elapsed(self.clock()))
        if duration:
            parts.append(duration)
        if view.chunk_count or view.is_generator:
            noun = "chunk" if view.chunk_count == 1 else "chunks"
            parts.append(f"{view.chunk_count} {noun}")
        if view.runs > 1:
            parts.append(f"run {view.runs}")
        return "  " + " · ".join(parts) if parts else ""

    def process_label(self, label: str | Text) -> Text:
        # Labels are drawn by `render_label` from node data; placements carry
        # an empty Text, so parsing it as markup is wasted work.
        if isinstance(label, Text):
            return label
        return super().process_label(label)

    def _invalidate(self) -> None:
        # NOTE: overrides a private method of Textual's Tree (8.2.8), which
        # every add and remove calls; `_sync_layout` runs it once at the end.
        if self._deferring_invalidate:
            self._invalidate_deferred = True
            return
        super()._invalidate()

    def _sync_layout(self) -> None:
        self._deferring_invalidate = True
        try:
            self._sync_placements()
        finally:
            self._deferring_invalidate = False
            if self._invalidate_deferred:
                self._invalidate_deferred = False
                super()._invalidate()

    def _sync_placements(self) -> None:
        model = self.model
        hidden = self._hidden_ids() if self.hide_finished else set()
        # Once every node is hidden the tree is empty, so its border counts them.
        self.border_subtitle = f"{len(hidden):,} hidden, h shows them" if hidden else ""
        # Each item: a placement, the ids to show under it, the ids on the
        # path to it, and whether it was just added (so it has no children).
        stack: list[tuple[TreeNode[NodeView], list[str], frozenset[str], bool]] = [
            (self.root, model.top_level_ids(), frozenset(), False)
        ]
        # A node with several parents appears under each, but its subtree is
        # drawn once: drawing it under every parent grows exponentially with
        # the depth of a graph with fan-in (65 million rows for 1,000 nodes).
        expanded: set[str] = set()
        while stack:
            parent, child_ids, path, fresh = stack.pop()
            nodes = model.nodes
            shown = [i for i in child_ids if i in nodes and i not in hidden]
            existing: dict[str, TreeNode[NodeView]] = {}
            shown_set = set(shown) if not fresh else set()
            for child in list(parent.children) if not fresh else ():
                view = child.data
                if (
                    view is None
                    or view.node_id not in shown_set
                    or view.node_id in existing
                    or model.nodes[view.node_id] is not view
                ):
                    self._remove_placement(child)
                else:
                    existing[view.node_id] = child
            pushed = []
            for node_id in shown:
                child = existing.get(node_id)
                added = child is None
                if added:
                    view = nodes[node_id]
                    expand = self._auto_expanded_lines < AUTO_EXPANDED_LINES
                    if expand:
                        self._auto_expanded_lines += len(view.children)
                    child = parent.add(Text(), view, expand=expand)
                    self.placements.setdefault(node_id, []).append(child)
                if node_id in path:
                    self._make_leaf(child, self._cycle_leaves)
                    continue
                children = nodes[node_id].children
                if node_id in expanded and children:
                    self._make_leaf(child, self._shared_leaves)
                    continue
                expanded.add(node_id)
                self._cycle_leaves.discard(child.id)
                self._shared_leaves.discard(child.id)
                child.allow_expand = True
                if not child.is_expanded:
                    # Its children get placements when it is expanded.
                    for grandchild in list(child.children) if not added else ():
                        self._remove_placement(grandchild)
                    continue
                if children or not added:
                    pushed.append((child, children, path | {node_id}, added))
            # Depth-first in the order of the children, so the first parent
            # in the tree is the one that draws a shared node's subtree.
            stack.extend(reversed(pushed))

    def _make_leaf(self, child: TreeNode[NodeView], kind: set[int]) -> None:
        """Draw `child` without children; `kind` records why."""
        self._cycle_leaves.discard(child.id)
        self._shared_leaves.discard(child.id)
        kind.add(child.id)
        for grandchild in list(child.children):
            self._remove_placement(grandchild)
        child.allow_expand = False

    def _remove_placement(self, tree_node: TreeNode[NodeView]) -> None:
        pending = [tree_node]
        while pending:
            current = pending.pop()
            pending.extend(current.children)
            self._cycle_leaves.discard(current.id)
            self._shared_leaves.discard(current.id)
            if current.data is None:
                continue
            placements = self.placements.get(current.data.node_id, [])
            if current in placements:
                placements.remove(current)
            if not placements:
                self.placements.pop(current.data.node_id, None)
        tree_node.remove()

    def _hidden_ids(self) -> set[str]:
        """Return the nodes that succeeded or were skipped and have no node
        below them that is still going or went wrong."""
        nodes = self.model.nodes
        keep: set[str] = set()
        pending = [i for i, view in nodes.items() if view.state not in _HIDABLE]
        while pending:
            node_id = pending.pop()
            if node_id in keep or node_id not in nodes:
                continue
            keep.add(node_id)
            pending.extend(nodes[node_id].parents)
        return set(nodes) - keep
