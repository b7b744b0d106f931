"""Log lines that stand for many skipped nodes: one line per burst of skips."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from grafo_tui.model_views import LogLine

SKIPPED_NAMES_SHOWN = 3
"""Labels of skipped nodes that one Log line names before "and N more"."""


@dataclass(frozen=True, slots=True)
class SkippedLine(LogLine):
    """A Log line for nodes skipped together, for one reason.

    The engine skips all the waiting descendants of a failed node at once,
    which can be thousands of `NodeSkipped` events. The model makes one line
    per event, and `collapse_skipped` merges adjacent lines of the same group
    into one that counts and lists them.

    Attributes:
        reason: The `NodeSkipped.reason` that every node here was given.
        cause_id: The failed or timed-out node whose descendants these are,
            when the skips came right after its failure; else `None`.
        skipped_ids: Every node skipped, in the engine's order.
        skipped_labels: The labels of `skipped_ids`, in the same order.
    """

    reason: str = ""
    cause_id: str | None = None
    skipped_ids: tuple[str, ...] = ()
    skipped_labels: tuple[str, ...] = ()

    def joins(self, other: LogLine) -> bool:
        """Return whether `other` belongs to the same group as this line."""
        return (
            type(other) is SkippedLine
            and other.reason == self.reason
            and other.cause_id == self.cause_id
        )

    def text_naming(self, node_id: str) -> str:
        """Return the line's text with `node_id` first among the names shown,
        so a Log filtered to that node shows that the node was skipped."""
        try:
            index = self.skipped_ids.index(node_id)
        except ValueError:
            return self.text
        if index < SKIPPED_NAMES_SHOWN:
            return self.text
        labels = self.skipped_labels
        first = (labels[index], *labels[:index], *labels[index + 1 :])
        return skipped_text(self.reason, self.cause_id, first)


def skipped_text(reason: str, cause_id: str | None, labels: tuple[str, ...]) -> str:
    count = len(labels)
    names = ", ".join(labels[:SKIPPED_NAMES_SHOWN])
    if count > SKIPPED_NAMES_SHOWN:
        names += f" and {count - SKIPPED_NAMES_SHOWN} more"
    if cause_id is not None:
        noun = "descendant" if count == 1 else "descendants"
        return f"skipped {count} {noun}: {names}"
    if count == 1:
        return f"skipped: {reason}"
    return f"skipped {count} nodes ({reason}): {names}"


def _merge_skipped(group: list[SkippedLine]) -> SkippedLine:
    first = group[0]
    if len(group) == 1:
        return first
    ids = tuple(node_id for line in group for node_id in line.skipped_ids)
    labels = tuple(label for line in group for label in line.skipped_labels)
    if first.cause_id is None:
        # With several nodes and no cause, the line belongs to no single node.
        node_id, label, colour = None, "", 0
    else:
        node_id, label, colour = first.node_id, first.label, first.colour
    return SkippedLine(
        time=first.time,
        node_id=node_id,
        label=label,
        text=skipped_text(first.reason, first.cause_id, labels),
        kind="skipped",
        colour=colour,
        reason=first.reason,
        cause_id=first.cause_id,
        skipped_ids=ids,
        skipped_labels=labels,
    )


def collapse_skipped(lines: Iterable[LogLine]) -> list[LogLine]:
    """Return `lines` with each run of adjacent `SkippedLine`s of one group
    merged into a single line. Other lines are kept as they are."""
    collapsed: list[LogLine] = []
    group: list[SkippedLine] = []
    for line in lines:
        if group and group[0].joins(line):
            group.append(line)  # type: ignore[arg-type]
            continue
        if group:
            collapsed.append(_merge_skipped(group))
            group = []
        if type(line) is SkippedLine:
            group.append(line)
        else:
            collapsed.append(line)
    if group:
        collapsed.append(_merge_skipped(group))
    return collapsed
