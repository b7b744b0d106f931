"""The `grafo-tui` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from grafo_tui import __version__
from grafo_tui.export import ExportError, RunExporter
from grafo_tui.headless import EXIT_INTERRUPTED, EXIT_LOAD_ERROR, run_headless
from grafo_tui.loader import LoadError, LoadSpec, parse_target
from grafo_tui.runner import PipelineRunner

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
opened, 130 when interrupted.
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
        "--version",
        action="version",
        version=f"%(prog)s {__version__}",
        help="print the version of grafo-tui and exit",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with `argv` (default `sys.argv[1:]`); return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        spec = parse_target(args.target)
        exporter = RunExporter(events_path=args.events, trace_path=args.trace)
    except (LoadError, ExportError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_LOAD_ERROR
    try:
        return _run(spec, exporter, headless=args.headless)
    finally:
        try:
            exporter.close()
        except ExportError as exc:
            # NOTE: a failed export does not change the run's exit status.
            print(exc, file=sys.stderr)


def _run(spec: LoadSpec, exporter: RunExporter, *, headless: bool) -> int:
    try:
        if headless:
            return run_headless(spec, exporter=exporter)
        return _run_screen(PipelineRunner(spec), exporter)
    except LoadError as exc:
        print(exc, file=sys.stderr)
        return EXIT_LOAD_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run_screen(runner: PipelineRunner, exporter: RunExporter) -> int:
    # Until the app feeds the exporter itself, wrapping the queue keeps the
    # files complete in screen mode too.
    if exporter.enabled:
        exporter.attach(runner)
    runner.check()
    try:
        from grafo_tui.app import GrafoApp
    except ImportError as exc:
        runner.stop()
        print(
            f"The screen mode of grafo-tui is not available ({exc}). Use --headless "
            f"to run the pipeline without it.",
            file=sys.stderr,
        )
        return EXIT_LOAD_ERROR
    app = GrafoApp(runner)
    try:
        app.run()
    finally:
        runner.stop()
    return app.return_code or 0
