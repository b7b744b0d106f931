"""Ctrl+C, quitting mid-run and an exception inside the app: each cancels the
run, closes async generators, restores the terminal and sets the exit status."""

from __future__ import annotations

import errno
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest

from grafo_core.events import NodeState
from grafo_tui.headless import EXIT_INTERRUPTED
from tests.robustness.helpers import PIPELINES, REPOSITORY, make_app, wait_until

STREAM_FILE = PIPELINES / "gated_stream.py"
DEADLINE = 60.0  # seconds; only a guard against a hung child
LEAVE_ALTERNATE_SCREEN = b"\x1b[?1049l"


def read_until(fd: int, output: bytearray, marker: bytes, deadline: float) -> bool:
    """Read from `fd` into `output` until `marker` appears; return whether it did."""
    while marker not in output:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        ready, _, _ = select.select([fd], [], [], min(remaining, 0.05))
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError as exc:  # EIO: the child closed the terminal
            if exc.errno == errno.EIO:
                return marker in output
            raise
        if not data:
            return marker in output
        output.extend(data)
    return True


def read_to_end(fd: int, output: bytearray, deadline: float) -> None:
    read_until(fd, output, b"\x00never\x00", deadline)


def wait_child(pid: int, deadline: float) -> int | None:
    """Return the child's exit code, or `None` if it did not end in time."""
    while time.monotonic() < deadline:
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    return None


class TerminalChild:
    """`python -c CODE` in a new pseudo-terminal of 100x30, killed on exit."""

    def __init__(self, code: str, environment: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child
            os.chdir(REPOSITORY)
            os.execve(sys.executable, [sys.executable, "-c", code], environment)
        size = struct.pack("HHHH", 30, 100, 0, 0)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, size)
        self.output = bytearray()
        self.code: int | None = None

    def wait_for(self, marker: bytes, seconds: float = DEADLINE) -> bool:
        return read_until(self.fd, self.output, marker, time.monotonic() + seconds)

    def finish(self, seconds: float = DEADLINE) -> int | None:
        deadline = time.monotonic() + seconds
        read_to_end(self.fd, self.output, deadline)
        self.code = wait_child(self.pid, deadline)
        return self.code

    def close(self) -> None:
        if self.code is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
        os.close(self.fd)


SCREEN_CODE = """
import sys
from grafo_tui.cli import main
sys.exit(main([{target!r}]))
"""

BROKEN_APP_CODE = """
import sys
from grafo_tui.app import GrafoApp
from grafo_tui.cli import main

def broken_help(self):
    raise RuntimeError("help is broken on purpose")

GrafoApp.action_help = broken_help
sys.exit(main([{target!r}]))
"""


def child_environment(folder) -> tuple[dict[str, str], object]:
    """Return the environment of a child process and its generator's marker file."""
    marker = folder / "closed.txt"
    environment = {
        **os.environ,
        "GRAFO_TEST_MARKER": str(marker),
        "TERM": "xterm-256color",
        "COLUMNS": "100",
        "LINES": "30",
    }
    return environment, marker


# --- headless -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def interrupted_headless(tmp_path_factory):
    environment, marker = child_environment(tmp_path_factory.mktemp("headless"))
    child = subprocess.Popen(
        [sys.executable, "-m", "grafo_tui", "--headless", str(STREAM_FILE)],
        cwd=REPOSITORY,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if "stream started" in line:
                break
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=DEADLINE)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return child.returncode, out, err, marker


def test_headless_sigint_exit_status(interrupted_headless):
    code, _, _, _ = interrupted_headless
    assert code == EXIT_INTERRUPTED


def test_headless_sigint_message(interrupted_headless):
    _, _, err, _ = interrupted_headless
    assert err.strip().splitlines()[-1] == "interrupted"


def test_headless_sigint_no_traceback(interrupted_headless):
    _, _, err, _ = interrupted_headless
    assert "Traceback" not in err


def test_headless_sigint_closes_generator(interrupted_headless):
    _, _, _, marker = interrupted_headless
    assert marker.read_text() == "closed"


def test_headless_sigint_reports_cancelled_run(interrupted_headless):
    _, out, _, _ = interrupted_headless
    finished = [line for line in out.splitlines() if "RunFinished" in line]
    assert len(finished) == 1
    assert "cancelled" in finished[0]


# --- screen mode with the Pilot -----------------------------------------------------


async def test_quit_mid_run_closes_generator():
    app = make_app("gated_stream.py")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(
            pilot,
            lambda: (
                "stream" in app.model.nodes
                and app.model.nodes["stream"].state is NodeState.RUNNING
            ),
            "stream running",
        )
        stream_globals = app.runner.functions["stream"].__globals__
        await pilot.press("q", "y")
        await wait_until(pilot, lambda: app.runner.finished, "runner stopped")
    assert stream_globals["CLOSED"] == ["stream"]
    assert app.return_code == 0


async def test_app_exception_stops_runner():
    app = make_app("gated_stream.py")

    def broken_help() -> None:
        raise RuntimeError("help is broken on purpose")

    app.action_help = broken_help
    with pytest.raises(RuntimeError, match="broken on purpose"):
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(
                pilot,
                lambda: (
                    "stream" in app.model.nodes
                    and app.model.nodes["stream"].state is NodeState.RUNNING
                ),
                "stream running",
            )
            stream_globals = app.runner.functions["stream"].__globals__
            await pilot.press("question_mark")
            await pilot.pause(0.2)
    assert app.runner.finished
    assert stream_globals["CLOSED"] == ["stream"]
    assert app.return_code == 1


# --- screen mode in a pseudo-terminal -------------------------------------------------


@pytest.fixture(scope="module")
def sigint_screen(tmp_path_factory):
    environment, marker = child_environment(tmp_path_factory.mktemp("sigint"))
    child = TerminalChild(SCREEN_CODE.format(target=str(STREAM_FILE)), environment)
    try:
        started = child.wait_for(b"stream")
        # The tree is drawn; give the pipeline a moment to start streaming.
        time.sleep(0.05)
        os.kill(child.pid, signal.SIGINT)
        child.finish()
    finally:
        child.close()
    return started, child, marker


def test_screen_sigint_exit_status(sigint_screen):
    started, child, _ = sigint_screen
    assert started
    assert child.code == EXIT_INTERRUPTED


def test_screen_sigint_restores_terminal(sigint_screen):
    _, child, _ = sigint_screen
    assert LEAVE_ALTERNATE_SCREEN in child.output


def test_screen_sigint_message_after_restore(sigint_screen):
    _, child, _ = sigint_screen
    after = child.output.rsplit(LEAVE_ALTERNATE_SCREEN, 1)[-1]
    assert b"interrupted" in after


def test_screen_sigint_closes_generator(sigint_screen):
    _, _, marker = sigint_screen
    assert marker.read_text() == "closed"


@pytest.fixture(scope="module")
def broken_screen(tmp_path_factory):
    environment, marker = child_environment(tmp_path_factory.mktemp("broken"))
    child = TerminalChild(BROKEN_APP_CODE.format(target=str(STREAM_FILE)), environment)
    try:
        started = child.wait_for(b"stream")
        time.sleep(0.05)
        os.write(child.fd, b"?")
        child.finish()
    finally:
        child.close()
    return started, child, marker


def test_app_error_exit_status(broken_screen):
    started, child, _ = broken_screen
    assert started
    assert child.code == 1


def test_app_error_restores_terminal(broken_screen):
    _, child, _ = broken_screen
    assert LEAVE_ALTERNATE_SCREEN in child.output


def test_app_error_message_after_restore(broken_screen):
    _, child, _ = broken_screen
    after = child.output.rsplit(LEAVE_ALTERNATE_SCREEN, 1)[-1]
    assert b"help is broken on purpose" in after


def test_app_error_closes_generator(broken_screen):
    _, _, marker = broken_screen
    assert marker.read_text() == "closed"
