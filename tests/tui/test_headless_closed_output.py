"""Tests of `--headless` when the reader of its output goes away (`| head`)."""

from __future__ import annotations

import io
import os
import pathlib
import signal
import subprocess
import sys

from grafo_tui.cli import build_parser
from grafo_tui.headless import EXIT_OUTPUT_CLOSED, run_headless
from grafo_tui.loader import LoadSpec

PIPELINES = pathlib.Path(__file__).parent / "pipelines"
REPOSITORY = pathlib.Path(__file__).parents[2]
SUBPROCESS_TIMEOUT = 60  # seconds, only a guard against a hung test


class ClosedPipe(io.StringIO):
    """A stream whose reader has gone: every write raises BrokenPipeError."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def start_headless(target: str, *, unbuffered: bool = True) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    env.pop("PYTHONUNBUFFERED", None)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    return subprocess.Popen(
        [sys.executable, "-m", "grafo_tui", "--headless", target],
        cwd=PIPELINES,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> str:
    """Wait for the process to end and return its stderr."""
    try:
        _, err = process.communicate(timeout=SUBPROCESS_TIMEOUT)
    finally:
        process.kill()
    return err


def test_output_closed_status_matches_shell():
    assert EXIT_OUTPUT_CLOSED == 128 + signal.SIGPIPE


def test_closed_output_returns_141():
    err = io.StringIO()
    code = run_headless(
        LoadSpec(PIPELINES / "runner_chunks.py", "build_passing"),
        out=ClosedPipe(),
        err=err,
    )
    assert code == EXIT_OUTPUT_CLOSED
    assert err.getvalue() == ""


def test_reader_gone_stops_endless_run():
    process = start_headless("headless_endless.py")
    assert process.stdout is not None
    for _ in range(3):
        process.stdout.readline()
    process.stdout.close()
    err = finish(process)
    assert process.returncode == EXIT_OUTPUT_CLOSED
    assert "Traceback" not in err
    assert "BrokenPipeError" not in err


def test_reader_gone_before_summary():
    # The whole output of this run fits in the stdout buffer, so the closed
    # pipe shows only when the output is flushed after the summary.
    process = start_headless("load_default_build.py", unbuffered=False)
    assert process.stdout is not None
    process.stdout.close()
    err = finish(process)
    assert process.returncode == EXIT_OUTPUT_CLOSED
    assert "BrokenPipeError" not in err
    assert "Exception ignored" not in err


def test_interrupt_with_reader_gone():
    # Ctrl+C in `grafo-tui --headless FILE | tail` ends the reader as well.
    process = start_headless("runner_blocked.py")
    assert process.stdout is not None
    for line in process.stdout:
        if "ChunkEmitted" in line:
            break
    process.stdout.close()
    process.send_signal(signal.SIGINT)
    err = finish(process)
    assert process.returncode == 130
    assert "interrupted" in err
    assert "Traceback" not in err


def test_help_lists_output_closed_status():
    text = " ".join(build_parser().format_help().split())
    assert f"{EXIT_OUTPUT_CLOSED} when the reader of the --headless output" in text
