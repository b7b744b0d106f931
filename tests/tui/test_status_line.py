"""The status line's run name."""

from __future__ import annotations

import uuid

from grafo_core import events
from grafo_tui.model import RunModel
from grafo_tui.widgets.status_line import StatusLine


def started_model(run_id: str, description: str) -> RunModel:
    model = RunModel()
    model.apply(events.RunStarted(run_id, None, 100.0, description, ("a",), None))
    return model


def status_text(model: RunModel) -> str:
    return StatusLine(clock=lambda: 101.0).describe(model).plain


def test_generated_run_id_shortened():
    run_id = str(uuid.uuid4())
    text = status_text(started_model(run_id, ""))
    assert text.startswith(f"run {run_id[:8]}  ")
    assert run_id not in text


def test_chosen_run_id_shown_whole():
    text = status_text(started_model("nightly-batch-2024", ""))
    assert text.startswith("run nightly-batch-2024  ")


def test_description_shown_alone():
    text = status_text(started_model(str(uuid.uuid4()), "demo run"))
    assert text.startswith("demo run  ")
