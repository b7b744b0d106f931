"""Pilot tests of a node that blocks the event loop: its details and cancelling it."""

from __future__ import annotations

import pathlib

from grafo_core.events import NodeState
from grafo_tui.app import GrafoApp
from grafo_tui.loader import LoadSpec
from grafo_tui.runner import PipelineRunner

from .test_app import SIZE, select, state, wait_until

PIPELINE = pathlib.Path(__file__).parent / "pipelines" / "debug_block_then_return.py"


def make_app() -> GrafoApp:
    runner = PipelineRunner(LoadSpec(PIPELINE, None))
    return GrafoApp(runner, block_threshold=0.05)


def detail_lines(app: GrafoApp) -> list[str]:
    return str(app.details.query_one("Static").render()).splitlines()


def messages(app: GrafoApp) -> list[str]:
    return [notification.message for notification in app._notifications]


async def start_blocking(pilot) -> dict:
    """Select `sleeper`, wait until its await chain shows, then make it block.

    Returns the pipeline's globals.
    """
    app = pilot.app
    await wait_until(pilot, lambda: "sleeper" in app.runner.functions, "loaded")
    await wait_until(pilot, lambda: "keeper" in app.task_tree.placements, "drawn")
    pipeline = app.runner.functions["sleeper"].__globals__
    await select(pilot, "sleeper")
    await wait_until(
        pilot,
        lambda: any(line.startswith("awaiting") for line in detail_lines(app)),
        "await chain shown",
    )
    pipeline["BLOCK"].set()
    await wait_until(
        pilot, lambda: app.model.nodes["sleeper"].blocked_at is not None, "block seen"
    )
    return pipeline


def finish(pipeline: dict) -> None:
    for name in ("BLOCK", "RELEASE", "FINISH"):
        pipeline[name].set()


async def test_blocking_node_hides_await_chain():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pipeline = await start_blocking(pilot)
        try:
            await wait_until(
                pilot,
                lambda: any(line.startswith("blocking") for line in detail_lines(app)),
                "block shown",
            )
            # The chain read before the block is still stored, but not shown.
            assert app.model.nodes["sleeper"].awaiting
            lines = detail_lines(app)
            assert not any(line.startswith("awaiting") for line in lines)
            assert not any(line.lstrip().startswith("from ") for line in lines)
        finally:
            finish(pipeline)
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")


async def test_cancel_blocking_node_explains_delay():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pipeline = await start_blocking(pilot)
        try:
            await pilot.press("c")
            await pilot.pause()
            delayed = [m for m in messages(app) if "blocks the event loop" in m]
            assert len(delayed) == 1
            assert delayed[0].startswith("Cancel requested; sleeper blocks")
            assert "takes effect when it next awaits" in delayed[0]
            pipeline["RELEASE"].set()
            # `sleeper` returns without awaiting again, so the cancel comes late.
            await wait_until(
                pilot,
                lambda: any("ended before the cancel" in m for m in messages(app)),
                "late cancel reported",
            )
            await wait_until(
                pilot, lambda: state(app, "sleeper") is NodeState.SUCCEEDED, "ended"
            )
        finally:
            finish(pipeline)
        await wait_until(pilot, lambda: app.model.is_finished, "run finished")
        assert state(app, "keeper") is NodeState.SUCCEEDED
