"""Shared helpers of the robustness tests: apps on pipeline files, screen text."""

from __future__ import annotations

import io
import pathlib
from typing import Any

from rich.console import Console
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from grafo_core import TreeExecutor, events
from grafo_tui.app import GrafoApp
from grafo_tui.loader import parse_target
from grafo_tui.runner import PipelineRunner

PIPELINES = pathlib.Path(__file__).parent / "pipelines"
REPOSITORY = pathlib.Path(__file__).parents[2]


class Recorder:
    """A subscriber that keeps every event of an executor."""

    def __init__(self, executor: TreeExecutor) -> None:
        self.events: list[events.Event] = []
        executor.subscribe(self.events.append)

    def of(self, kind: type, node_id: str | None = None) -> list[Any]:
        return [
            event
            for event in self.events
            if isinstance(event, kind) and (node_id is None or event.node_id == node_id)
        ]

    def final_states(self) -> dict[str, events.NodeState]:
        states: dict[str, events.NodeState] = {}
        for event in self.events:
            state = events.STATE_AFTER.get(type(event))
            if state is not None and event.node_id is not None:
                states[event.node_id] = state
        return states


def make_app(target: str, **options: Any) -> GrafoApp:
    """Return an app on `PIPELINES / target`, where target is `FILE[:NAME]`."""
    spec = parse_target(str(PIPELINES / target))
    return GrafoApp(PipelineRunner(spec), **options)


async def wait_until(pilot, condition, what: str, attempts: int = 500) -> None:
    """Let the app run until `condition()` holds, in steps of 0.02 s."""
    for _ in range(attempts):
        if condition():
            return
        if not pilot.app.is_running or pilot.app._exception is not None:
            raise AssertionError(f"the app exited before {what}")
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting until {what}")


async def select(pilot, node_id: str) -> None:
    """Put the tree's cursor on `node_id` through the jump dialog."""
    app = pilot.app
    await wait_until(pilot, lambda: node_id in app.task_tree.placements, "shown")
    app.task_tree.move_to(node_id)
    await wait_until(pilot, lambda: app.selected_id == node_id, f"{node_id} selected")
    await pilot.pause(0.05)


def screen_output(app: GrafoApp) -> tuple[str, str]:
    """Render the whole screen as a terminal would receive it.

    Returns the plain text (styles removed) and the raw terminal output
    (escape sequences included).
    """
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    update = app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens
    )
    console.print(update)
    raw = console.file.getvalue()
    return console.export_text(styles=False), raw


def widget_strips(widget: Widget) -> list[Strip]:
    """Return the lines a widget draws in its current size."""
    width, height = widget.size
    return widget.render_lines(Region(0, 0, width, height))


def widget_text(widget: Widget) -> str:
    """Return the text a widget draws, one line per row."""
    return "\n".join(strip.text for strip in widget_strips(widget))


def has_link(widget: Widget) -> bool:
    """Return whether any segment the widget draws carries a hyperlink."""
    return any(
        segment.style is not None and segment.style.link
        for strip in widget_strips(widget)
        for segment in strip
    )


def details_text(app: GrafoApp) -> str:
    """Return the text of the node details panel, with no wrapping."""
    return str(app.details.query_one("Static").render())
