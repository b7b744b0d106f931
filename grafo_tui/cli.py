"""The `grafo-tui` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from grafo_tui import __version__
from grafo_tui.headless import EXIT_INTERRUPTED, EXIT_LOAD_ERROR, run_headless
from grafo_tui.loader import LoadError, parse_target
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
file could not be loaded or run, 130 when interrupted.
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
        if args.headless:
            return run_headless(spec)
        return _run_screen(PipelineRunner(spec))
    except LoadError as exc:
        print(exc, file=sys.stderr)
        return EXIT_LOAD_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run_screen(runner: PipelineRunner) -> int:
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
