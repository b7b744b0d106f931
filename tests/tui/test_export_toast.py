"""Tests of the notification that the export key (`x`) shows."""

from __future__ import annotations

import pathlib
import re

from grafo_tui.app import GrafoApp
from grafo_tui.loader import LoadSpec
from grafo_tui.runner import PipelineRunner

from .test_app import wait_until

PIPELINES = pathlib.Path(__file__).parent / "pipelines"
SIZE = (120, 40)
EXPORTED = re.compile(
    r"to (\S+): (\S+\.events\.jsonl), (\S+\.trace\.json) and (\S+\.svg)\."
)


def exported_paths(app: GrafoApp) -> list[str] | None:
    for notification in app._notifications:
        match = EXPORTED.search(notification.message)
        if match is not None:
            return list(match.groups())
    return None


async def test_export_toast_names_the_folder_and_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = PipelineRunner(LoadSpec(PIPELINES / "load_default_build.py", None))
    app = GrafoApp(runner)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        await pilot.press("x")
        await wait_until(pilot, lambda: exported_paths(app) is not None, "toast")

    shown = exported_paths(app)
    assert shown is not None
    folder, *names = shown
    assert pathlib.Path(folder) == tmp_path.resolve()
    for name in names:
        assert (tmp_path / name).exists(), name
