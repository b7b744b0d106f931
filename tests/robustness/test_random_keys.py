"""Seeded random key presses over the app on a running pipeline, modals included."""

from __future__ import annotations

import inspect
import random
import unicodedata

from textual import events
from textual.app import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key

from grafo_tui.app import GrafoApp
from tests.robustness.helpers import make_app, wait_until

SEED = 20261205
PRESSES = 1500
BATCH = 40
MAX_APPS = 40

# Every binding of the main screen and its dialogs, keys that move around and
# edit text, and a few that mean nothing here. `ctrl+q` and `y` quit at once,
# so they are left out; `q` (which asks first, or quits once the run is over)
# stays in and the test opens a new app when one exits.
# NOTE: `ctrl+p` is left out too. Keys that reach textual 8.2.8's command
# palette while it closes can raise NoMatches('CommandList') inside Textual.
KEYS = [
    *"adcpsrfhvbteix",
    "slash",
    "question_mark",
    "q",
    "escape",
    "enter",
    "tab",
    "shift+tab",
    "up",
    "down",
    "left",
    "right",
    "space",
    "home",
    "end",
    "pageup",
    "pagedown",
    "backspace",
    "n",
    "1",
    "0",
    "{",
    "}",
    "'",
    ":",
    "[",
    "]",
]


def key_event(app: GrafoApp, key: str) -> events.Key:
    """Build the `Key` event that textual 8.2.8's `App._press_keys` sends."""
    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    original = REPLACED_KEYS.get(key, key)
    try:
        character = unicodedata.lookup(_get_unicode_name_from_key(original))
    except KeyError:
        character = key if len(key) == 1 else None
    event = events.Key(key, character)
    event.set_sender(app)
    return event


async def send_keys(pilot, keys: list[str]) -> None:
    """Send key events through the app's driver, as a fast typist would.

    `Pilot.press` waits for the whole process to be idle after each key, which
    a running pipeline thread delays by tens of milliseconds. This waits only
    until the current screen has handled its messages.

    NOTE: without even that wait, seeded runs hit four failures: a second
    `enter` submits a dialog twice (`test_double_enter_on_add_form`), other
    dialogs raised ScreenStackError the same way, and textual 8.2.8 raised
    NoMatches in its command palette and in `Select`, and KeyError in
    `OptionList._move_page`, for keys that reached them while they were
    being built or closed.
    """
    app = pilot.app
    driver = app._driver
    assert driver is not None
    for key in keys:
        driver.send_message(key_event(app, key))
        await pilot._wait_for_screen()


def new_app(tmp_path) -> GrafoApp:
    options = {}
    if "export_dir" in inspect.signature(GrafoApp).parameters:
        options["export_dir"] = tmp_path
    return make_app("keys_demo.py", **options)


async def test_random_keys_never_raise(tmp_path):
    chooser = random.Random(SEED)
    sequence = [chooser.choice(KEYS) for _ in range(PRESSES)]
    pressed = 0
    apps = 0
    while pressed < PRESSES:
        apps += 1
        assert apps <= MAX_APPS, "the app exited too often to press every key"
        app = new_app(tmp_path)
        async with app.run_test(size=(100, 30)) as pilot:
            model_started = lambda: pilot.app.model.is_started  # noqa: E731
            await wait_until(pilot, model_started, "run started")
            while pressed < PRESSES and app.is_running:
                batch = sequence[pressed : pressed + BATCH]
                await send_keys(pilot, batch)
                pressed += len(batch)
                # Let the app handle the batch, and the pipeline move on.
                await pilot.pause(0.02)
                await pilot._wait_for_screen()
            if app.is_running:
                await pilot.pause(0.05)
        # run_test raises here any exception the app caught while it ran.
        # `i` can arm a fault, and quitting after a node failed exits with 1,
        # as --headless does.
        failed = app._nodes_failed or app._model_has_failures()
        assert app.return_code in ((None, 1) if failed else (None, 0))
        assert app.runner.finished
    assert pressed == PRESSES


async def test_double_enter_on_add_form(tmp_path):
    app = new_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: "source" in app.task_tree.placements, "tree")
        await pilot.press("a")
        await wait_until(pilot, lambda: app.screen is not app.screen_stack[0], "form")
        driver = app._driver
        driver.send_message(key_event(app, "enter"))
        driver.send_message(key_event(app, "enter"))
        await pilot.pause(0.2)
        assert app.is_running
