"""Regenerate the README's screenshot: the app itself, on the ETL demo.

Run from the repository root: ``python scripts/make_screenshot.py``. It opens
the app headless at 120x36 on ``demos/etl.py``, waits for the run to end,
selects the merge node and writes ``docs/screenshot.svg``.
"""

from __future__ import annotations

import asyncio
import pathlib

from grafo_tui.app import GrafoApp
from grafo_tui.loader import LoadSpec
from grafo_tui.runner import PipelineRunner

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEMO = ROOT / "demos" / "etl.py"
OUTPUT = ROOT / "docs" / "screenshot.svg"


async def main() -> None:
    app = GrafoApp(PipelineRunner(LoadSpec(DEMO, None)))
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(500):
            if app.model.is_finished:
                break
            await pilot.pause(0.02)
        else:
            raise SystemExit(f"{DEMO} did not finish within 10 s")
        await pilot.press("slash", *"merge", "enter")
        await pilot.pause(0.3)
        app.save_screenshot(filename=OUTPUT.name, path=str(OUTPUT.parent))
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    asyncio.run(main())
