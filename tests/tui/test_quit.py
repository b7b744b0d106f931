"""Pilot tests that every way to quit asks first while a run is in progress."""

from __future__ import annotations

from textual.command import CommandList, CommandPalette

from grafo_tui.screens.quit_screen import QuitScreen

from .test_app import SIZE, make_app, open_gated, wait_until


def quit_commands(app) -> list:
    return [c for c in app.get_system_commands(app.screen) if c.title == "Quit"]


async def test_ctrl_q_asks_while_running():
    app = make_app("app_gated.py")
    async with app.run_test(size=SIZE) as pilot:
        gates = await open_gated(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, QuitScreen)
        assert app.is_running
        # A second Ctrl+Q confirms.
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: not app.is_running, "app exited")
        for gate in gates.values():
            gate.set()
    assert app.runner.finished
    assert app.return_code == 0


async def test_ctrl_q_exit_status_follows_failures():
    app = make_app("app_failing.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await wait_until(pilot, lambda: app.runner.finished, "pipeline ended")
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: not app.is_running, "app exited")
    assert app.return_code == 1


async def test_palette_lists_one_quit():
    app = make_app("app_gated.py")
    async with app.run_test(size=SIZE) as pilot:
        gates = await open_gated(pilot)
        commands = quit_commands(app)
        assert len(commands) == 1
        assert commands[0].help.endswith("(key q)")
        for gate in gates.values():
            gate.set()


async def test_palette_quit_asks_while_running():
    app = make_app("app_gated.py")
    async with app.run_test(size=SIZE) as pilot:
        gates = await open_gated(pilot)
        await pilot.press("ctrl+p")
        await wait_until(
            pilot, lambda: isinstance(app.screen, CommandPalette), "palette open"
        )
        commands = app.screen.query_one(CommandList)
        await pilot.press(*"quit")
        await wait_until(pilot, lambda: commands.option_count > 0, "quit listed")
        await pilot.pause()
        prompts = [
            str(commands.get_option_at_index(i).prompt)
            for i in range(commands.option_count)
        ]
        assert sum("Quit" in prompt for prompt in prompts) == 1
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: isinstance(app.screen, QuitScreen), "question asked"
        )
        assert app.is_running
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running
        for gate in gates.values():
            gate.set()
