"""Pilot tests of what the add-node form shows when an entry cannot be used."""

from __future__ import annotations

import pathlib

from textual.widgets import Input, Select

from grafo_core import Node
from grafo_tui.app import GrafoApp
from grafo_tui.loader import LoadSpec
from grafo_tui.runner import PipelineRunner
from grafo_tui.screens.add_node_screen import AddNodeScreen

from .test_app import select, wait_until

DEMOS = pathlib.Path(__file__).parents[2] / "demos"
SIZE = (120, 40)


def paused_etl_app() -> GrafoApp:
    runner = PipelineRunner(LoadSpec(DEMOS / "etl.py", None))
    return GrafoApp(runner, start_paused=True)


async def open_form(pilot, parent_id: str) -> AddNodeScreen:
    app = pilot.app
    await wait_until(pilot, lambda: parent_id in app.task_tree.placements, "drawn")
    await select(pilot, parent_id)
    await pilot.press("a")
    await wait_until(pilot, lambda: isinstance(app.screen, AddNodeScreen), "form")
    return app.screen


def field(screen: AddNodeScreen, name: str) -> str:
    return screen.query_one(f"#{name}", Input).value


def errors_text(screen: AddNodeScreen) -> str:
    return str(screen.query_one("#errors").render())


async def type_into(pilot, screen: AddNodeScreen, name: str, text: str) -> None:
    """Focus a field, clear it and type `text` with real key presses."""
    screen.query_one(f"#{name}", Input).focus()
    await pilot.press("end", "ctrl+u")  # delete everything left of the cursor
    await pilot.press(*text)


async def test_auto_without_parameter_stays_in_form():
    app = paused_etl_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, "load")
        assert screen.query_one("#function", Select).value == "read_orders"
        await type_into(pilot, screen, "node-id", "orders-again")
        await type_into(pilot, screen, "forward", "AUTO")
        await pilot.press("enter")
        await pilot.pause()

        assert app.screen is screen
        errors = errors_text(screen)
        assert "forward: AUTO needs exactly one parameter" in errors
        assert "read_orders takes no parameters" in errors
        assert field(screen, "node-id") == "orders-again"
        assert field(screen, "forward") == "AUTO"
        assert "orders-again" not in app.model.nodes


async def test_auto_with_two_parameters_names_them():
    app = paused_etl_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, "load")
        screen.query_one("#function", Select).value = "merge"
        await pilot.pause()
        await type_into(pilot, screen, "kwargs", "{'orders': []}")
        await type_into(pilot, screen, "forward", "AUTO")
        await pilot.press("enter")
        await pilot.pause()

        assert app.screen is screen
        errors = errors_text(screen)
        assert "merge has 2 (customers, stock)" in errors
        assert field(screen, "kwargs") == "{'orders': []}"


async def test_auto_with_one_free_parameter_is_added():
    app = paused_etl_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, "load")
        screen.query_one("#function", Select).value = "merge"
        await pilot.pause()
        # AUTO fills `stock`, so `customers` has no value.
        await type_into(pilot, screen, "kwargs", "{'orders': [], 'customers': 1}")
        await type_into(pilot, screen, "forward", "AUTO")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is not screen  # accepted: one free parameter

        screen = await open_form(pilot, "load")
        screen.query_one("#function", Select).value = "merge"
        await pilot.pause()
        await type_into(pilot, screen, "kwargs", "{}")
        await type_into(pilot, screen, "forward", "orders")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen
        assert "Missing 'customers', 'stock'" in errors_text(screen)


async def test_id_taken_while_form_open():
    app = paused_etl_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, "load")
        await type_into(pilot, screen, "node-id", "late")
        # Another client adds the id while the form is open.
        node = Node(app.runner.functions["read_orders"], uuid="late")
        app.runner.submit(lambda ex: ex.add(node, parents=["load"])).result(5)
        await wait_until(pilot, lambda: "late" in app.model.nodes, "late added")
        await pilot.press("enter")
        await pilot.pause()

        assert app.screen is screen
        assert "A node with id 'late' already exists." in errors_text(screen)
        assert "The engine rejected" not in errors_text(screen)


async def test_parent_removed_while_form_open():
    app = paused_etl_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, "load")
        await type_into(pilot, screen, "node-id", "orphan")
        app.runner.submit(lambda ex: ex.remove("load")).result(5)
        await wait_until(pilot, lambda: "load" not in app.model.nodes, "load gone")
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: any("Could not add" in str(n.message) for n in app._notifications),
            "add reported",
        )
        message = next(
            str(n.message) for n in app._notifications if "Could not add" in n.message
        )
        # The engine raises a KeyError, whose str() quotes the whole sentence.
        assert message.startswith("Could not add orphan: no node with uuid 'load'")
        assert '"' not in message


async def reject_children() -> None:
    raise ValueError("load takes no more children")


async def test_engine_rejection_reopens_form_as_typed():
    app = paused_etl_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, "load")
        await type_into(pilot, screen, "node-id", "refused")

        def reject_on_connect(executor) -> None:
            executor.node("load").on_connect = (reject_children, {})

        # A check that only the engine makes: the parent's on_connect hook.
        app.runner.submit(reject_on_connect).result(5)
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, AddNodeScreen) and app.screen is not screen,
            "form opened again",
        )
        again = app.screen
        assert field(again, "node-id") == "refused"
        assert "The engine rejected refused" in errors_text(again)
        assert "load takes no more children" in errors_text(again)


async def test_errors_scrolled_into_view_on_short_screen():
    app = paused_etl_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_form(pilot, "load")
        await type_into(pilot, screen, "forward", "AUTO")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()

        errors = screen.query_one("#errors")
        dialog = screen.query_one("#dialog")
        assert "AUTO needs exactly one parameter" in errors_text(screen)
        assert errors.region.height > 1
        assert dialog.scrollable_content_region.contains_region(errors.region)


async def test_kwargs_error_names_the_offending_text():
    app = paused_etl_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, "load")
        cases = {
            "{'name': undefined_var}": "`undefined_var` is a name",
            "{'name': os.getcwd()}": "`os.getcwd()` is a function call",
            "{'name': a.b}": "`a.b` is an attribute access",
        }
        for text, expected in cases.items():
            await type_into(pilot, screen, "kwargs", text)
            await pilot.press("enter")
            await pilot.pause()
            errors = errors_text(screen)
            assert expected in errors
            assert "only literals are accepted" in errors
            assert "ast." not in errors
            assert field(screen, "kwargs") == text


async def test_form_buttons_reachable_at_80x24():
    # The form is taller than 24 rows; it scrolls, so Tab brings the Add
    # button into view instead of leaving it below the screen's edge.
    app = paused_etl_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_form(pilot, "load")
        add = screen.query_one("#add")
        for _ in range(12):
            if app.focused is add:
                break
            await pilot.press("tab")
        await pilot.pause()
        assert app.focused is add
        assert screen.region.contains_region(add.region)
        await pilot.click("#add")  # the click lands where the button is drawn
        await wait_until(pilot, lambda: app.screen is not screen, "form closed")
