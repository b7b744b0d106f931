"""The footer's keys at a narrow and a wide terminal size."""

from __future__ import annotations

import pytest
from textual.binding import Binding
from textual.widgets import Footer

from grafo_core import events
from grafo_tui.app import GrafoApp
from grafo_tui.pipeline_messages import PipelineEnded

from .test_app_messages import FakeRunner
from .test_snapshots import RUN, T0, failed_run, finished_run


def whole_footer_keys(app: GrafoApp) -> list[str]:
    """Return the actions of the footer keys drawn whole, left to right.

    A key is cut when it runs past the footer's right edge or under the
    command palette key, which Textual docks on the right.
    """
    footer = app.screen.query_one(Footer)
    keys = list(footer.query("FooterKey"))
    palette = [key.region for key in keys if key.has_class("-command-palette")]
    return [
        key.action
        for key in keys
        if not key.has_class("-command-palette")
        and footer.region.contains_region(key.region)
        and not any(key.region.overlaps(region) for region in palette)
    ]


def footer_bindings(app: GrafoApp) -> list[str]:
    """Return the actions of the bindings the footer shows in the app's state."""
    return [
        binding.action
        for binding in app.BINDINGS
        if isinstance(binding, Binding)
        and binding.show
        and app.check_action(binding.action, ())
    ]


def held_run() -> list:
    """The failed run of the snapshots, held open for retries."""
    items = failed_run()
    ended = [
        item for item in items if isinstance(item, (events.RunFinished, PipelineEnded))
    ]
    held = events.RunHeld(RUN, None, T0 + 1.1, "double failed")
    return [*[item for item in items if item not in ended], held]


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_narrow_footer_keeps_help_and_quit(size):
    app = GrafoApp(FakeRunner(finished_run()), clock=lambda: 105.0)
    async with app.run_test(size=size) as pilot:
        app.drain_queue()
        await pilot.pause()
        shown = whole_footer_keys(app)
        assert "help" in shown
        assert "quit" in shown


async def test_wide_footer_shows_every_key():
    app = GrafoApp(FakeRunner(finished_run()), clock=lambda: 105.0)
    async with app.run_test(size=(140, 40)) as pilot:
        app.drain_queue()
        await pilot.pause()
        assert sorted(whole_footer_keys(app)) == sorted(footer_bindings(app))


async def test_wide_footer_hides_hold_keys_after_run():
    app = GrafoApp(FakeRunner(finished_run()), clock=lambda: 105.0)
    async with app.run_test(size=(140, 40)) as pilot:
        app.drain_queue()
        await pilot.pause()
        shown = whole_footer_keys(app)
        assert "retry_node" not in shown
        assert "release_run" not in shown


@pytest.mark.parametrize("size", [(80, 24), (140, 40)])
async def test_held_run_footer_shows_retry_and_end(size):
    app = GrafoApp(FakeRunner(held_run()), clock=lambda: 105.0)
    async with app.run_test(size=size) as pilot:
        app.drain_queue()
        await pilot.pause()
        shown = whole_footer_keys(app)
        assert shown[:4] == ["help", "quit", "retry_node", "release_run"]

        app.runner.queue.put(events.RunFinished(RUN, None, T0 + 2, 1, False))
        app.drain_queue()
        await pilot.pause()
        shown = whole_footer_keys(app)
        assert "retry_node" not in shown
        assert "release_run" not in shown
        assert shown[:2] == ["help", "quit"]

        # The hidden key still notifies why it does nothing.
        await pilot.press("e")
        messages = [n.message for n in app._notifications]
        assert any("The run is not held" in message for message in messages)
