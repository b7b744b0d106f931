"""The footer's keys at a narrow and a wide terminal size."""

from __future__ import annotations

import pytest
from textual.binding import Binding
from textual.widgets import Footer

from grafo_tui.app import GrafoApp

from .test_app_messages import FakeRunner
from .test_snapshots import finished_run


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
    return [
        binding.action
        for binding in app.BINDINGS
        if isinstance(binding, Binding) and binding.show
    ]


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
