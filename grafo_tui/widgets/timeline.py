"""A Gantt chart of the current run: one bar per node run on a shared time axis."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from grafo_core.events import NodeState
from grafo_tui.model import RunModel
from grafo_tui.widgets.task_tree import state_class

BAR = "█"
PLOT_BLOCKS = " ▁▂▃▄▅▆▇█"
"""Eighths of a cell, for the running-nodes plot."""
PLOT_ROWS = 3
IDLE_START_SHARE = 0.1
"""Largest share of the axis that the time before the first node start may
take. Past it, as in a run started paused, the axis starts at the first start."""

_TICK_STEPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10)
_STATE_CLASSES = {
    f"timeline--{state_class(s)[len('task-tree--') :]}" for s in NodeState
}


def tree_order(model: RunModel) -> list[str]:
    """Return node ids depth-first from the top-level nodes, each once, then any
    node that no top-level node reaches, in added order."""
    order: list[str] = []
    seen: set[str] = set()
    stack = list(reversed(model.top_level_ids()))
    while stack:
        node_id = stack.pop()
        if node_id in seen or node_id not in model.nodes:
            continue
        seen.add(node_id)
        order.append(node_id)
        stack.extend(reversed(model.nodes[node_id].children))
    order.extend(node_id for node_id in model.nodes if node_id not in seen)
    return order


def tick_step(seconds: float, columns: int, min_gap: int = 10) -> float:
    """Return a round tick interval that keeps ticks `min_gap` columns apart."""
    if seconds <= 0 or columns <= 0:
        return 1.0
    min_step = seconds * min_gap / columns
    for step in _TICK_STEPS:
        if step >= min_step:
            return float(step)
    return float(60 * math.ceil(min_step / 60))


def format_tick(seconds: float, step: float) -> str:
    """Return a tick label such as "0s", "0.25s" or "2m"."""
    if step >= 60:
        return f"{seconds / 60:g}m"
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return f"{seconds:.{decimals}f}s"


def bar_columns(
    start: float, end: float, origin: float, scale: float
) -> tuple[int, int]:
    """Return the first column and the column after the last of a bar; every bar
    is at least one column wide."""
    first = int((start - origin) * scale)
    after = math.ceil((end - origin) * scale)
    return first, max(first + 1, after)


class TimelineChart(ScrollView):
    """Axis on the first line, then one line per node with a bar per run."""

    COMPONENT_CLASSES = {
        *_STATE_CLASSES,
        "timeline--axis",
        "timeline--label",
        "timeline--selected",
    }

    DEFAULT_CSS = """
    TimelineChart { background: $surface; }
    TimelineChart > .timeline--axis { color: $text-muted; }
    TimelineChart > .timeline--label { color: $foreground; }
    TimelineChart > .timeline--selected { text-style: reverse; }
    TimelineChart > .timeline--waiting { color: $text-muted; }
    TimelineChart > .timeline--ready { color: $text-secondary; }
    TimelineChart > .timeline--running { color: $accent; }
    TimelineChart > .timeline--succeeded { color: $success; }
    TimelineChart > .timeline--failed { color: $error; }
    TimelineChart > .timeline--timed-out { color: $error 70%; }
    TimelineChart > .timeline--cancelled { color: $warning; }
    TimelineChart > .timeline--skipped { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = RunModel()
        self.rows: list[str] = []
        self.selected_id: str | None = None
        self.origin = 0.0
        self.end = 1.0
        self.skipped = 0.0
        self.label_width = 8

    def show(
        self,
        model: RunModel,
        rows: list[str],
        origin: float,
        end: float,
        *,
        skipped: float = 0.0,
    ) -> None:
        """Draw `rows` of `model` on the time axis from `origin` to `end`.

        `skipped` is the seconds of the run before `origin`, left out of the
        axis; tick labels count from the run's start all the same.
        """
        self.model = model
        self.rows = rows
        self.origin = origin
        self.end = end
        self.skipped = skipped
        labels = (len(model.label(node_id)) for node_id in rows)
        # At least 8 columns, which the plot's "running" and "max N" need.
        self.label_width = min(24, max([8, *labels]))
        self.virtual_size = Size(self.size.width, len(rows) + 1)
        self.refresh()

    @property
    def bar_width(self) -> int:
        """Columns of the time axis."""
        return max(1, self.size.width - self.label_width - 1)

    @property
    def scale(self) -> float:
        """Columns per second."""
        return self.bar_width / max(self.end - self.origin, 1e-3)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            text = self._axis_text()
        else:
            index = self.scroll_offset.y + y - 1
            if index >= len(self.rows):
                return Strip.blank(width, base)
            text = self._row_text(self.rows[index])
        strip = Strip(text.render(self.app.console), text.cell_len)
        return strip.apply_style(base).crop_extend(0, width, base)

    def row_cells(self, node_id: str) -> list[NodeState | None]:
        """Return the state drawn in each column of a node's row (`None`: empty)."""
        cells: list[NodeState | None] = [None] * self.bar_width
        node = self.model.nodes.get(node_id)
        if node is None:
            return cells
        for span in node.spans:
            end = span.end if span.end is not None else self.end
            first, after = bar_columns(span.start, end, self.origin, self.scale)
            for column in range(max(0, first), min(after, len(cells))):
                cells[column] = span.state
        return cells

    def _axis_text(self) -> Text:
        style = self._style("axis")
        # With time left out, the gutter reads "from" before the first label.
        gutter = "from" if self.skipped else ""
        gutter = gutter.rjust(self.label_width) + " "
        text = Text(gutter, style=style, no_wrap=True, end="")
        step = tick_step(self.end - self.origin, self.bar_width)
        axis = [" "] * self.bar_width
        free_from = 0  # the first column after the last label
        if self.skipped:
            label = "|" + format_tick(self.skipped, step / 10)
            axis[: len(label)] = label[: self.bar_width]
            free_from = len(label) + 1
        # Ticks sit on round seconds since the run's start.
        moment = math.ceil(self.skipped / step) * step
        while True:
            column = int((moment - self.skipped) * self.scale)
            if column >= self.bar_width:
                break
            label = "|" + format_tick(moment, step)
            if column >= free_from and column + len(label) <= self.bar_width:
                axis[column : column + len(label)] = label
                free_from = column + len(label) + 1
            moment += step
        text.append("".join(axis), style)
        return text

    def _row_text(self, node_id: str) -> Text:
        text = Text(no_wrap=True, end="")
        label = self.model.label(node_id)[: self.label_width].ljust(self.label_width)
        label_style = self._style("label")
        if node_id == self.selected_id:
            label_style += self._style("selected")
        text.append(label + " ", label_style)
        cells = self.row_cells(node_id)
        column = 0
        while column < len(cells):
            state = cells[column]
            run_end = column
            while run_end < len(cells) and cells[run_end] is state:
                run_end += 1
            if state is None:
                text.append(" " * (run_end - column))
            else:
                name = state_class(state)[len("task-tree--") :]
                text.append(BAR * (run_end - column), self._style(name))
            column = run_end
        return text

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"timeline--{name}", partial=True)


class RunningPlot(Widget):
    """Number of running nodes over the same axis, as a small bar plot."""

    DEFAULT_CSS = """
    RunningPlot { height: 4; background: $surface; color: $accent; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.samples: list[int] = []
        self.label_width = 8

    def show(self, samples: list[int], label_width: int) -> None:
        """Draw one column per sample, scaled to the largest."""
        self.samples = samples
        self.label_width = label_width
        self.refresh()

    def render(self) -> Text:
        peak = max(self.samples, default=0)
        text = Text(no_wrap=True)
        for row in range(PLOT_ROWS):
            label = ""
            if row == 0:
                label = f"max {peak}"
            elif row == 1:
                label = "running"
            text.append(label[: self.label_width].rjust(self.label_width) + " ", "dim")
            floor = (PLOT_ROWS - 1 - row) * 8
            for value in self.samples:
                eighths = round(value / peak * PLOT_ROWS * 8) if peak else 0
                text.append(PLOT_BLOCKS[min(8, max(0, eighths - floor))])
            text.append("\n")
        text.append(" " * (self.label_width + 1) + "running nodes over time", "dim")
        return text


class Timeline(Vertical):
    """The chart above the running-nodes plot; `show` redraws both from a model."""

    DEFAULT_CSS = """
    Timeline > TimelineChart { height: 1fr; }
    """

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.chart = TimelineChart(id="timeline-chart")
        self.plot = RunningPlot(id="timeline-plot")
        self._rows: list[str] = []
        self._rows_version = -1
        self._model: RunModel | None = None

    def compose(self) -> ComposeResult:
        yield self.chart
        yield self.plot

    def on_resize(self) -> None:
        if self._model is not None:
            self.show(self._model, self.chart.selected_id)

    def show(self, model: RunModel, selected_id: str | None) -> None:
        """Redraw from `model`; the axis runs from the run's start to its end, or
        to now while it runs. It starts at the first node start instead when
        the time before it would take more than `IDLE_START_SHARE` of it."""
        if model is not self._model or model.structure_version != self._rows_version:
            self._model = model
            self._rows = tree_order(model)
            self._rows_version = model.structure_version
        start = model.started_at if model.started_at is not None else 0.0
        end = start + max(model.elapsed(self.clock()), 1e-3)
        origin = start
        first = first_start(model)
        if first is not None and first - start > IDLE_START_SHARE * (end - start):
            origin = first
        self.chart.selected_id = selected_id
        self.chart.show(model, self._rows, origin, end, skipped=origin - start)
        samples = model.running_samples(origin, end, self.chart.bar_width)
        self.plot.show(samples, self.chart.label_width)


def first_start(model: RunModel) -> float | None:
    """Return when the run's first node run started, or `None` before one did."""
    starts = [view.spans[0].start for view in model.nodes.values() if view.spans]
    return min(starts, default=None)
