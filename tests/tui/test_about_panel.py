"""The About tab reflows the file's hand-wrapped docstring to its width."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static

from grafo_tui.widgets.about_panel import AboutPanel, docstring_blocks

from ..robustness.helpers import widget_strips

DOC = """Orders: a short pipeline that checks stock and picks a shipping method
for each order, then writes one line per order to the report file.

- `check_stock` disconnects `reorder_supplies` when the stock covers the
  order, so that node never starts at all during the run.
- `choose_shipping` keeps one of its three children.

Example:

    grafo-tui demos/dynamic.py
    grafo-tui demos/dynamic.py:build_orders
"""


class AboutApp(App[None]):
    def compose(self) -> ComposeResult:
        yield AboutPanel(DOC, id="about")


async def drawn_rows(width: int) -> tuple[list[str], int]:
    """Return the About panel's rows at `width` columns, right spaces cut."""
    async with AboutApp().run_test(size=(width, 40)) as pilot:
        await pilot.pause()
        static = pilot.app.query_one("#about").query_one(Static)
        rows = [strip.text.rstrip() for strip in widget_strips(static)]
        return rows, static.size.width


async def test_about_rows_filled_before_breaking():
    for width in (60, 66, 74, 100):
        rows, content_width = await drawn_rows(width)
        prose = rows[: rows.index("Example:")]
        for row, next_row in zip(prose, prose[1:], strict=False):
            if not row or not next_row.strip() or next_row.lstrip().startswith("- "):
                continue
            next_word = next_row.split()[0]
            # The next row's first word would have fit on this row.
            assert len(row) + 1 + len(next_word) > content_width, (width, row)


async def test_about_list_item_wraps_under_its_text():
    rows, _ = await drawn_rows(60)
    first = rows.index(next(row for row in rows if row.startswith("- `check_stock`")))
    assert rows[first + 1].startswith("  ")
    assert not rows[first + 1].startswith("  -")


async def test_about_keeps_code_lines():
    rows, _ = await drawn_rows(100)
    assert "    grafo-tui demos/dynamic.py" in rows
    assert "    grafo-tui demos/dynamic.py:build_orders" in rows


def test_docstring_blocks_join_prose_lines():
    blocks = docstring_blocks(
        "One two\nthree.\n\n- a b\n  c\n- d\n\n    code\n    more"
    )
    assert [(block.marker, block.text) for block in blocks] == [
        ("", "One two three."),
        ("", ""),
        ("- ", "a b c"),
        ("- ", "d"),
        ("", ""),
        ("", "    code"),
        ("", "    more"),
    ]


def test_docstring_blocks_keep_underline_and_table():
    doc = "Title\n=====\nname    value\nother   1"
    texts = [block.text for block in docstring_blocks(doc)]
    assert texts == ["Title", "=====", "name    value", "other   1"]
