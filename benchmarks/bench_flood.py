"""Measure grafo-tui under a flood of chunks: time, peak memory, key latency.

One async-generator node (tests/robustness/pipelines/flood.py) yields small
integers as fast as it can, giving the event loop a turn after every 1,000.
Each case runs in a fresh child process, so its peak RSS (from `wait4`) is its
own:

- headless: `grafo-tui --headless` with stdout sent to /dev/null;
- headless + events: the same with `--events FILE`; the file's ChunkEmitted
  lines are counted afterwards;
- screen: the Textual app under `App.run_test()` (no terminal), until the run
  has finished and the app has applied every event. While the flood runs, a
  Pilot presses `h` (hide finished nodes) and waits for the app to handle it,
  and the script records each press's wall-clock time.

Run it from the repository root:

    python benchmarks/bench_flood.py                 # 1,000,000 chunks
    python benchmarks/bench_flood.py --chunks 100000 --cases screen
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]
PIPELINE = REPOSITORY / "tests" / "robustness" / "pipelines" / "flood.py"
CASES = ("headless", "headless+events", "screen")


def run_child(command: list[str], chunks: int) -> tuple[int, float, float]:
    """Run `command` with the flood size set; return exit code, seconds, peak MB."""
    environment = {**os.environ, "GRAFO_FLOOD_CHUNKS": str(chunks)}
    started = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=REPOSITORY, env=environment, stdout=subprocess.PIPE
    )
    output = child.stdout.read() if child.stdout else b""
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if output:
        sys.stdout.write(output.decode())
    return child.returncode, seconds, usage.ru_maxrss / 1024


def measure_headless(chunks: int, events: bool) -> dict[str, object]:
    command = [sys.executable, "-m", "grafo_tui", "--headless"]
    with tempfile.TemporaryDirectory() as folder:
        events_file = pathlib.Path(folder) / "events.jsonl"
        if events:
            command += ["--events", str(events_file)]
        command.append(str(PIPELINE))
        environment = {**os.environ, "GRAFO_FLOOD_CHUNKS": str(chunks)}
        started = time.perf_counter()
        child = subprocess.Popen(
            command, cwd=REPOSITORY, env=environment, stdout=subprocess.DEVNULL
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        result: dict[str, object] = {
            "exit": os.waitstatus_to_exitcode(status),
            "seconds": seconds,
            "peak_mb": usage.ru_maxrss / 1024,
        }
        if events:
            with events_file.open(encoding="utf-8") as file:
                result["exported_chunks"] = sum(
                    1 for line in file if line.startswith('{"type":"ChunkEmitted"')
                )
    return result


def measure_screen(chunks: int) -> dict[str, object]:
    command = [sys.executable, __file__, "--screen-child", "--chunks", str(chunks)]
    code, seconds, peak = run_child(command, chunks)
    return {"exit": code, "seconds": seconds, "peak_mb": peak}


async def screen_child() -> None:
    """Run the app on the flood and print one JSON line of figures."""
    sys.path.insert(0, str(REPOSITORY))
    from grafo_tui.app import GrafoApp
    from grafo_tui.loader import LoadSpec
    from grafo_tui.runner import PipelineRunner

    runner = PipelineRunner(LoadSpec(PIPELINE, None))
    app = GrafoApp(runner)
    presses: list[float] = []
    handled: list[float] = []
    toggle = app.action_toggle_finished

    def timed_toggle() -> None:
        handled.append(time.perf_counter())
        toggle()

    # The latency is from sending the key to the start of its action.
    app.action_toggle_finished = timed_toggle
    longest_queue = 0
    started = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        while not (app.model.is_finished and runner.queue.empty()):
            longest_queue = max(longest_queue, runner.queue.qsize())
            if app.model.is_started and not app.model.is_finished:
                before = time.perf_counter()
                count = len(handled)
                await pilot.press("h")
                if len(handled) > count:
                    presses.append(handled[count] - before)
            await pilot.pause(0.05)
        finished = time.perf_counter() - started
        figures = {
            "run_and_drain_seconds": finished,
            "key_presses": len(presses),
            "key_median_ms": statistics.median(presses) * 1000 if presses else None,
            "key_max_ms": max(presses) * 1000 if presses else None,
            "longest_queue": longest_queue,
            "log_lines_kept": len(app.chunk_log.lines),
            "log_lines_dropped": app.chunk_log.dropped,
            "chunks_seen": app.model.nodes["flood"].chunk_count,
        }
    print("FIGURES " + json.dumps(figures), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--chunks", type=int, default=1_000_000, help="chunks the node yields"
    )
    parser.add_argument(
        "--cases",
        default=",".join(CASES),
        help=f"comma-separated cases to run, from {', '.join(CASES)}",
    )
    parser.add_argument("--screen-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.screen_child:
        asyncio.run(screen_child())
        return 0

    cases = [case.strip() for case in args.cases.split(",") if case.strip()]
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        parser.error(f"unknown cases: {', '.join(unknown)}")
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.release()}; {args.chunks:,} chunks"
    )
    for case in cases:
        if case == "screen":
            result = measure_screen(args.chunks)
        else:
            result = measure_headless(args.chunks, events=case == "headless+events")
        details = ", ".join(
            f"{key} {value:.2f}" if isinstance(value, float) else f"{key} {value}"
            for key, value in result.items()
        )
        print(f"{case}: {details}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
