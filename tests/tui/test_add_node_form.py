"""The add-node form's list of functions, read from its open drop-down."""

from __future__ import annotations

from textual.app import App
from textual.widgets import OptionList, Select

from grafo_tui.screens.add_node_screen import AddNodeScreen


async def fetch():
    return 21


async def main():
    pass


class FormApp(App[None]):
    def __init__(self, form: AddNodeScreen) -> None:
        super().__init__()
        self.form = form

    def on_mount(self) -> None:
        self.push_screen(self.form)


async def listed_functions(form: AddNodeScreen) -> list[str]:
    """Open the form's function drop-down and return the names it lists."""
    async with FormApp(form).run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        form.query_one("#function", Select).focus()
        await pilot.press("enter")
        await pilot.pause()
        options = form.query_one("#function").query_one(OptionList)
        return [
            str(options.get_option_at_index(index).prompt)
            for index in range(options.option_count)
        ]


async def test_form_leaves_out_entry_point():
    form = AddNodeScreen(
        parent_label="a",
        functions={"fetch": fetch, "main": main},
        taken_ids=lambda: ["a"],
        entry_point="main",
    )
    listed = await listed_functions(form)
    assert "main" not in listed
    assert "fetch" in listed
    assert "sleep (built-in)" in listed


async def test_form_lists_every_function_without_entry_point():
    form = AddNodeScreen(
        parent_label="a",
        functions={"fetch": fetch, "main": main},
        taken_ids=lambda: ["a"],
    )
    listed = await listed_functions(form)
    assert "main" in listed
    assert "fetch" in listed
