"""The `grafo-tui` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from grafo_tui import __version__
from grafo_tui.export import ExportError, RunExporter
from grafo_tui.headless import EXIT_INTERRUPTED, EXIT_LOAD_ERROR, run_headless
from grafo_tui.loader import LoadError, LoadSpec, parse_target
from grafo_tui.runner import PipelineRunner
from grafo_tui.watchdog import DEFAULT_THRESHOLD

_DESCRIPTION = """\
Run a pipeline file and draw its task tree live.

The file is loaded in one of three ways. With PATH:NAME, grafo-tui calls the
function NAME (sync or async), which returns a TreeExecutor, a Node or a list
of root Nodes. With PATH alone and a top-level function `build`, it calls
build() the same way. Otherwise the file runs as `python PATH` would, and every
TreeExecutor it runs is shown. `import grafo` in the file loads grafo_core.
"""

_EPILOG = """\
exit status: 0 when no node failed or timed out, 1 when some did, 2 when the
file could not be loaded or run or an --events or --trace file could not be
opened, 130 when interrupted, 141 when the reader of the --headless output
stopped reading (as `| head` does), which also stops the run.
"""


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the `grafo-tui` command."""
    parser = argparse.ArgumentParser(
        prog="grafo-tui",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "target",
        metavar="PATH[:NAME]",
        help="the pipeline file, optionally followed by ':' and the name of the "
        "function that builds the tree",
    )
    parser.add_argument(
        "--headless",
        action="store_true",
        help="print one plain line per event and a summary table per run on "
        "stdout instead of opening the screen",
    )
    parser.add_argument(
        "--events",
        metavar="FILE",
        help="write every engine event and every message of the pipeline to FILE "
        "as it happens, one JSON object per line (JSON Lines)",
    )
    parser.add_argument(
        "--trace",
        metavar="FILE",
        help="write the runs to FILE in the Chrome trace event format (JSON), "
        "for Perfetto or chrome://tracing: one slice per node run, chunks as "
        "instant events, running nodes as a counter",
    )
    parser.add_argument(
        "--block-threshold",
        metavar="SECONDS",
        type=_seconds,
        default=DEFAULT_THRESHOLD,
        help="on the screen, report node code that blocks the pipeline's event "
        "loop for more than SECONDS (default %(default)s; 0 turns the check "
        "off); --headless does not check",
    )
    parser.add_argument(
        "--paused",
        action="store_true",
        help="on the screen, start every run paused, before its first node "
        "starts (s starts one ready node, p resumes); not with --headless",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {__version__}",
        help="print the version of grafo-tui and exit",
    )
    return parser


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds"
        ) from None
    if not 0 <= seconds < float("inf"):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a finite number of seconds of 0 or more; pass, "
            "for example, 0.5 (0 turns the check off)"
        )
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with `argv` (default `sys.argv[1:]`); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.paused and args.headless:
        parser.error("--paused needs the screen, so it cannot be used with --headless")
    try:
        spec = parse_target(args.target)
        exporter = RunExporter(events_path=args.events, trace_path=args.trace)
    except (LoadError, ExportError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_LOAD_ERROR
    try:
        return _run(
            spec,
            exporter,
            headless=args.headless,
            block_threshold=args.block_threshold or None,
            paused=args.paused,
        )
    finally:
        try:
            exporter.close()
        except ExportError as exc:
            # NOTE: a failed export does not change the run's exit status.
            print(exc, file=sys.stderr)


def _run(
    spec: LoadSpec,
    exporter: RunExporter,
    *,
    headless: bool,
    block_threshold: float | None = DEFAULT_THRESHOLD,
    paused: bool = False,
) -> int:
    try:
        if headless:
            return run_headless(spec, exporter=exporter)
        # The screen keeps a run with failed nodes open, so they can be retried.
        runner = PipelineRunner(spec, hold_on_error=True)
        return _run_screen(
            runner, exporter, block_threshold=block_threshold, paused=paused
        )
    except LoadError as exc:
        print(exc, file=sys.stderr)
        return EXIT_LOAD_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run_screen(
    runner: PipelineRunner,
    exporter: RunExporter,
    *,
    block_threshold: float | None = DEFAULT_THRESHOLD,
    paused: bool = False,
) -> int:
    # Until the app feeds the exporter itself, wrapping the queue keeps the
    # files complete in screen mode too.
    if exporter.enabled:
        exporter.attach(runner)
    runner.check()
    try:
        from grafo_tui.app import GrafoApp, freeze_loaded_objects
    except ImportError as exc:
        runner.stop()
        print(
            f"The screen mode of grafo-tui is not available ({exc}). Use --headless "
            f"to run the pipeline without it.",
            file=sys.stderr,
        )
        return EXIT_LOAD_ERROR
    # Only a changed threshold is passed, so stand-in app classes that take
    # just the runner keep working.
    options = {}
    if block_threshold != DEFAULT_THRESHOLD:
        options["block_threshold"] = block_threshold
    if paused:
        options["start_paused"] = True
    freeze_loaded_objects()
    app = GrafoApp(runner, **options)
    interrupted: list[int] = []
    try:
        with _exit_on_signals(app, interrupted):
            app.run()
    finally:
        runner.stop()
    if interrupted and interrupted[0] == signal.SIGTERM:
        print("terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    if interrupted:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return app.return_code or 0


@contextlib.contextmanager
def _exit_on_signals(app: Any, interrupted: list[int]) -> Iterator[None]:
    """Make SIGINT (Ctrl+C from outside the screen, or `kill -INT`) and
    SIGTERM (`kill`, `timeout`) end the app with the terminal restored.

    The app's terminal is in raw mode, so Ctrl+C typed in it is a key, not a
    signal. A SIGINT sent to the process otherwise cancels Textual's main task,
    which Textual treats as a normal exit with status 0. Here it appends the
    signal number to `interrupted` and asks the app to exit, so the caller can
    report the interruption.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signal_number: int, frame: Any) -> None:
        interrupted.append(signal_number)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise KeyboardInterrupt from None
        loop.call_soon_threadsafe(app.exit, None, 128 + signal_number)

    previous = {
        number: signal.signal(number, on_signal)
        for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
