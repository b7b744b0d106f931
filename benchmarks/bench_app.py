"""Measure how the grafo-tui app keeps up with a pipeline's events.

Each measurement runs the real `GrafoApp` and `PipelineRunner` headless under
`App.run_test()`, on a pipeline file from `benchmarks/pipelines/`:

1. flood: a 1,000-node tree while async generators stream about 10,000
   chunks per second. It reports the queue items the pipeline produced and
   the app applied per second of wall time, and the queue backlog.
2. keys: during the flood, a thread sends "down" key events through the
   app's driver, as a terminal's input thread does. The tree's cursor action
   records when it handles each key.
3. first frame: the time from entering `run_test()` to the end of the first
   screen update that drew the tree after a drain put every node of a
   10,000-node tree in it.

The script subclasses the app and the tree only to take timestamps, and wraps
two private Textual methods to time screen updates and widget renders. It
prints the figures, then one PASS/FAIL line per target, and exits with status
1 when a target fails.

Run from the repository root: `python benchmarks/bench_app.py --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import importlib.metadata
import os
import platform
import pstats
import queue
import random
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from textual import events as textual_events  # noqa: E402
from textual.geometry import Region  # noqa: E402
from textual.screen import Screen  # noqa: E402
from textual.strip import Strip  # noqa: E402
from textual.widget import Widget  # noqa: E402

from grafo_core import events  # noqa: E402
from grafo_tui import app as app_module  # noqa: E402
from grafo_tui.app import GrafoApp, freeze_loaded_objects  # noqa: E402
from grafo_tui.loader import parse_target  # noqa: E402
from grafo_tui.runner import PipelineRunner  # noqa: E402
from grafo_tui.widgets.task_tree import TaskTree  # noqa: E402

PIPELINES = Path(__file__).resolve().parent / "pipelines"
SCREEN_SIZE = (120, 40)

MAX_KEY_P90 = 0.100
"""Seconds: the 90th percentile of key-press latency under the flood."""
MAX_FIRST_FRAME = 1.0
"""Seconds from app start to the first frame of the large tree."""
MIN_APPLIED_RATIO = 0.98
"""Applied per second over produced per second in the flood window. A ratio
below 1 means the backlog grew. The 2% allows for the items one 50 ms drain
leaves behind at the end of the window."""


def now() -> float:
    return time.perf_counter()


# -- instrumented parts ----------------------------------------------------------


class CountingQueue(queue.SimpleQueue):
    """A `SimpleQueue` that counts puts and times the first and last of each type.

    Items applied so far are `puts - qsize()`, because only the app takes items
    off the runner's queue.
    """

    def __init__(self) -> None:
        super().__init__()
        self.puts = 0
        self.chunks = 0
        self.first_put: dict[type, float] = {}
        self.last_put: dict[type, float] = {}

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)
        kind = type(item)
        stamp = now()
        if kind not in self.first_put:
            self.first_put[kind] = stamp
        self.last_put[kind] = stamp
        if kind is events.ChunkEmitted:
            self.chunks += 1
        self.puts += 1

    @property
    def applied(self) -> int:
        return self.puts - self.qsize()


class TimedTaskTree(TaskTree):
    """The app's tree, recording when it handles "down" and when it renders."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.handled: list[float] = []
        self.render_armed = False
        self.rendered_at: float | None = None

    def action_cursor_down(self) -> None:
        self.handled.append(now())
        super().action_cursor_down()

    def render_lines(self, crop: Region) -> list[Strip]:
        strips = super().render_lines(crop)
        if self.render_armed and self.rendered_at is None:
            self.rendered_at = now()
        return strips


@dataclass
class Drain:
    """One call of the app's `drain_queue`."""

    started: float
    seconds: float
    items: int
    refresh_seconds: float
    """Part of `seconds` spent in `refresh_views` (tree sync and widget updates)."""


class BenchApp(GrafoApp):
    """`GrafoApp` with a timed tree, timed drains and a first-frame probe.

    Args:
        runner: The runner, whose queue must be a `CountingQueue`.
        first_frame_nodes: When set, record the first drain after which the
            tree shows this many nodes under `first_frame_roots` top-level
            lines.
    """

    # Textual reads a relative CSS_PATH next to the subclass's module.
    CSS_PATH = str(Path(app_module.__file__).with_name(GrafoApp.CSS_PATH))

    def __init__(
        self,
        runner: PipelineRunner,
        *,
        first_frame_nodes: int | None = None,
        first_frame_roots: int = 1,
    ) -> None:
        super().__init__(runner)
        assert isinstance(runner.queue, CountingQueue)
        self.counting_queue = runner.queue
        self.task_tree = TimedTaskTree(clock=self.clock, id="tree")
        self.drains: list[Drain] = []
        self.mounted_at: float | None = None
        self.first_frame_nodes = first_frame_nodes
        self.first_frame_roots = first_frame_roots
        self.populated_at: float | None = None
        self._refresh_seconds = 0.0

    def on_mount(self) -> None:
        # Textual calls GrafoApp.on_mount after this one, as for every class
        # in the MRO that defines the handler.
        self.mounted_at = now()

    def drain_queue(self) -> None:
        applied_before = self.counting_queue.applied
        self._refresh_seconds = 0.0
        started = now()
        super().drain_queue()
        seconds = now() - started
        items = self.counting_queue.applied - applied_before
        self.drains.append(Drain(started, seconds, items, self._refresh_seconds))
        if self.first_frame_nodes is not None and self.populated_at is None:
            self._check_populated()

    def refresh_views(self) -> None:
        started = now()
        super().refresh_views()
        self._refresh_seconds += now() - started

    def _check_populated(self) -> None:
        tree = self.task_tree
        assert isinstance(tree, TimedTaskTree)
        assert self.first_frame_nodes is not None
        # Every node is in the model and the tree is in step with it (nodes
        # under collapsed placements have no lines until opened).
        if len(self.model.nodes) < self.first_frame_nodes:
            return
        if tree._synced_version != self.model.structure_version:
            return
        if len(tree.root.children) != self.first_frame_roots:
            return
        self.populated_at = now()
        tree.render_armed = True


@dataclass
class ScreenTimes:
    """Screen updates (layout and paint) and the render time of each widget class."""

    frames: list[tuple[float, float]] = field(default_factory=list)
    """(start, end) of every screen update."""
    renders: list[tuple[float, str, float]] = field(default_factory=list)
    """(start, widget class, seconds) of every `render_lines` call."""

    def frames_between(self, start: float, end: float) -> list[tuple[float, float]]:
        return [frame for frame in self.frames if start <= frame[0] < end]

    def next_frame_end(self, after: float) -> float | None:
        """Return the end of the first screen update that starts at `after` or later."""
        for started, ended in self.frames:
            if started >= after:
                return ended
        return None


@contextlib.contextmanager
def timed_screen() -> Iterator[ScreenTimes]:
    """Time screen updates and widget renders while the block runs.

    NOTE: `Screen._on_timer_update` is private to Textual (checked on 8.2.8).
    It lays out and paints the dirty widgets. Headless runs do that too and
    skip only the final write to the terminal.
    """
    times = ScreenTimes()
    update = Screen._on_timer_update
    render_lines = Widget.render_lines

    def timed_update(screen: Screen) -> None:
        started = now()
        update(screen)
        times.frames.append((started, now()))

    def timed_render_lines(widget: Widget, crop: Region) -> list[Strip]:
        started = now()
        strips = render_lines(widget, crop)
        times.renders.append((started, type(widget).__name__, now() - started))
        return strips

    Screen._on_timer_update = timed_update  # type: ignore[method-assign]
    Widget.render_lines = timed_render_lines  # type: ignore[method-assign]
    try:
        yield times
    finally:
        Screen._on_timer_update = update  # type: ignore[method-assign]
        Widget.render_lines = render_lines  # type: ignore[method-assign]


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def profiled(path: Path | None) -> Iterator[None]:
    """Profile the calling thread (the app's) into `path`, when given."""
    if path is None:
        yield
        return
    # NOTE: cProfile charges wall time, so time this thread waits for the GIL
    # while the pipeline thread runs lands on whichever function was waiting.
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(path)
        print(f"\nprofile of the app thread written to {path}; top 25 cumulative:")
        stats = pstats.Stats(str(path))
        stats.sort_stats("cumulative").print_stats(25)


def make_runner(pipeline: str) -> PipelineRunner:
    runner = PipelineRunner(parse_target(str(PIPELINES / pipeline)))
    runner.queue = CountingQueue()
    return runner


async def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = now() + timeout
    while not condition():
        if now() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.01)


def percentile(values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of `values` (not empty)."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def spread(values: list[float]) -> str:
    return (
        f"median {ms(statistics.median(values))}, "
        f"p90 {ms(percentile(values, 0.9))}, max {ms(max(values))}"
    )


# -- flood and keys --------------------------------------------------------------


@dataclass
class FloodResult:
    window: float
    produced: int
    applied: int
    chunks: int
    backlog_start: int
    backlog_end: int
    backlog_max: int
    app_cpu: float
    """CPU seconds of the app's thread in the window."""
    other_cpu: float
    """CPU seconds of every other thread (mostly the pipeline's) in the window."""
    drains: list[Drain]
    frames: list[tuple[float, float]]
    render_seconds: Counter[str]
    """Seconds of `render_lines` in the window, by widget class."""
    sent: list[float]
    handled: list[float] = field(default_factory=list)
    painted: list[float] = field(default_factory=list)
    """End of the first screen update after each handled key."""


def send_keys(
    app: GrafoApp, count: int, interval: float, sent: list[float], seed: int
) -> None:
    """Send `count` "down" key events through the driver, from this thread."""
    driver = app._driver
    assert driver is not None
    rng = random.Random(seed)
    for _ in range(count):
        # Jitter, so that presses do not lock onto the phase of the 50 ms drain.
        time.sleep(interval * rng.uniform(0.75, 1.25))
        sent.append(now())
        driver.process_message(textual_events.Key("down", None))


async def measure_flood(args: argparse.Namespace, profile: Path | None) -> FloodResult:
    seconds = args.warmup + args.window + 3
    settings = {
        "GRAFO_BENCH_NODES": str(args.nodes),
        "GRAFO_BENCH_CHUNK_RATE": str(args.chunk_rate),
        "GRAFO_BENCH_STREAMS": str(args.streams),
        "GRAFO_BENCH_SECONDS": str(seconds),
    }
    with environment(settings), timed_screen() as screen_times:
        runner = make_runner("chunk_flood.py")
        runner.check()
        freeze_loaded_objects()  # as `grafo-tui` does before it starts the app
        app = BenchApp(runner)
        tree = app.task_tree
        assert isinstance(tree, TimedTaskTree)
        async with app.run_test(size=SCREEN_SIZE):
            await wait_until(
                lambda: len(app.model.nodes) >= args.nodes,
                timeout=30,
                what=f"the tree to show {args.nodes} nodes",
            )
            await asyncio.sleep(args.warmup)
            with profiled(profile):
                result = await flood_window(app, args, screen_times)
            await wait_until(
                lambda: len(tree.handled) >= len(result.sent),
                timeout=10,
                what="the app to handle every key press",
            )
            await asyncio.sleep(0.3)  # the screen update after the last key
            result.handled = list(tree.handled)
            painted = [screen_times.next_frame_end(h) for h in result.handled]
            result.painted = [p for p in painted if p is not None]
    return result


async def flood_window(
    app: BenchApp, args: argparse.Namespace, screen_times: ScreenTimes
) -> FloodResult:
    counting = app.counting_queue
    sent: list[float] = []
    sender = threading.Thread(
        target=send_keys,
        args=(app, args.presses, args.window / args.presses, sent, 1),
        name="bench keys",
    )
    puts_start, applied_start = counting.puts, counting.applied
    chunks_start = counting.chunks
    backlog_start = counting.qsize()
    backlog_max = backlog_start
    cpu_start = (time.thread_time(), time.process_time())
    started = now()
    sender.start()
    while now() - started < args.window:
        await asyncio.sleep(0.02)
        backlog_max = max(backlog_max, counting.qsize())
    ended = now()
    app_cpu = time.thread_time() - cpu_start[0]
    all_cpu = time.process_time() - cpu_start[1]
    puts_end, applied_end = counting.puts, counting.applied
    chunks_end = counting.chunks
    backlog_end = counting.qsize()
    await asyncio.to_thread(sender.join)

    render_seconds: Counter[str] = Counter()
    for render_start, name, seconds in screen_times.renders:
        if started <= render_start < ended:
            render_seconds[name] += seconds
    return FloodResult(
        window=ended - started,
        produced=puts_end - puts_start,
        applied=applied_end - applied_start,
        chunks=chunks_end - chunks_start,
        backlog_start=backlog_start,
        backlog_end=backlog_end,
        backlog_max=backlog_max,
        app_cpu=app_cpu,
        other_cpu=all_cpu - app_cpu,
        drains=[d for d in app.drains if started <= d.started < ended],
        frames=screen_times.frames_between(started, ended),
        render_seconds=render_seconds,
        sent=sent,
    )


def report_flood(args: argparse.Namespace, result: FloodResult) -> list[str]:
    window = result.window
    produced_rate = result.produced / window
    applied_rate = result.applied / window
    print(
        f"\n## Flood: {args.nodes}-node tree, {args.chunk_rate:g} chunks/s "
        f"from {args.streams} generators, {window:.2f} s window"
    )
    print(f"chunks produced:          {result.chunks / window:10,.0f} /s")
    print(f"queue items produced:     {produced_rate:10,.0f} /s")
    print(f"queue items applied:      {applied_rate:10,.0f} /s")
    print(
        f"backlog (queue length):   start {result.backlog_start:,}, "
        f"max {result.backlog_max:,}, end {result.backlog_end:,}"
    )
    print(
        f"CPU in the window:        app thread {result.app_cpu / window:.0%}, "
        f"other threads {result.other_cpu / window:.0%} of one core"
    )
    report_drains_and_frames(result)

    lines = []
    ratio = applied_rate / produced_rate if produced_rate else 0.0
    verdict = "PASS" if ratio >= MIN_APPLIED_RATIO else "FAIL"
    lines.append(
        f"{verdict}  backlog bounded: applied {applied_rate:,.0f}/s vs produced "
        f"{produced_rate:,.0f}/s (ratio {ratio:.3f}, target >= {MIN_APPLIED_RATIO}); "
        f"backlog {result.backlog_start:,} -> {result.backlog_end:,}"
    )
    if result.chunks / window < 0.9 * args.chunk_rate:
        lines.append(
            f"NOTE  the pipeline produced {result.chunks / window:,.0f} chunks/s, "
            f"below the {args.chunk_rate:g} requested"
        )
    lines.append(report_keys(result))
    return lines


def report_drains_and_frames(result: FloodResult) -> None:
    window = result.window
    busy = [d for d in result.drains if d.items]
    if busy:
        seconds = [d.seconds for d in busy]
        items = [d.items for d in busy]
        refresh = sum(d.refresh_seconds for d in busy)
        print(
            f"drains with items:        {len(busy) / window:.1f} /s, "
            f"{statistics.mean(items):,.0f} items each on average, "
            f"max {max(items):,}"
        )
        print(
            f"drain time:               {spread(seconds)}; "
            f"{sum(seconds) / window:.0%} of the window, "
            f"{refresh / window:.0%} in refresh_views"
        )
    if result.frames:
        seconds = [end - start for start, end in result.frames]
        print(
            f"screen updates:           {len(seconds) / window:.1f} /s, "
            f"{spread(seconds)}; {sum(seconds) / window:.0%} of the window"
        )
        per_frame = ", ".join(
            f"{name} {ms(total / len(seconds))}"
            for name, total in result.render_seconds.most_common(5)
        )
        print(f"render per screen update: {per_frame}")


def report_keys(result: FloodResult) -> str:
    print(
        f"\n## Keys: {len(result.sent)} 'down' presses sent through the driver "
        f"during the flood"
    )
    count = min(len(result.sent), len(result.handled))
    if count < len(result.sent):
        print(f"only {len(result.handled)} of {len(result.sent)} presses were handled")
    if count == 0:
        return "FAIL  key latency: no key press was handled"
    handled = [h - s for s, h in zip(result.sent, result.handled, strict=False)]
    painted = [p - s for s, p in zip(result.sent, result.painted, strict=False)]
    print(f"sent -> action ran:       {spread(handled)}")
    if painted:
        print(f"sent -> screen updated:   {spread(painted)}")
    p90 = percentile(handled, 0.9)
    verdict = "PASS" if p90 < MAX_KEY_P90 and count == len(result.sent) else "FAIL"
    return (
        f"{verdict}  key latency p90 {ms(p90)} (median "
        f"{ms(statistics.median(handled))}), target < {ms(MAX_KEY_P90)}"
    )


# -- first frame -----------------------------------------------------------------


@dataclass
class FirstFrame:
    """Seconds from entering `run_test()` to each step, for one run."""

    check: float
    """Seconds of `runner.check()`, which runs before the timer starts."""
    mounted: float
    run_started: float
    tree_sent: float
    populated: float
    rendered: float
    frame: float
    drains: list[Drain]


async def measure_first_frame(
    args: argparse.Namespace, profile: Path | None
) -> FirstFrame:
    settings = {
        "GRAFO_BENCH_NODES": str(args.big_nodes),
        "GRAFO_BENCH_WIDTH": "100",
        "GRAFO_BENCH_ROOT_SECONDS": "5",
    }
    with environment(settings), timed_screen() as screen_times:
        runner = make_runner("wide_tree.py")
        check_started = now()
        runner.check()
        check_seconds = now() - check_started
        app = BenchApp(runner, first_frame_nodes=args.big_nodes)
        tree = app.task_tree
        assert isinstance(tree, TimedTaskTree)

        with profiled(profile):
            started = now()
            # As `grafo-tui` does before it starts the app.
            freeze_loaded_objects()
            async with app.run_test(size=SCREEN_SIZE):
                await wait_until(
                    lambda: tree.rendered_at is not None,
                    timeout=60,
                    what="the first frame of the large tree",
                )
                await asyncio.sleep(0.1)  # the end of that screen update

    assert app.mounted_at is not None and app.populated_at is not None
    assert tree.rendered_at is not None
    # The screen update that rendered the tree is the last one that started
    # before the tree's render ended.
    frame_ends = [
        end for start, end in screen_times.frames if start <= tree.rendered_at
    ]
    frame = frame_ends[-1] if frame_ends else float("nan")
    counting = app.counting_queue
    return FirstFrame(
        check=check_seconds,
        mounted=app.mounted_at - started,
        run_started=counting.first_put[events.RunStarted] - started,
        tree_sent=counting.last_put[events.NodeAdded] - started,
        populated=app.populated_at - started,
        rendered=tree.rendered_at - started,
        frame=frame - started,
        drains=[
            Drain(d.started - started, d.seconds, d.items, d.refresh_seconds)
            for d in app.drains
            if d.items and d.started <= app.populated_at
        ],
    )


def report_first_frame(args: argparse.Namespace, runs: list[FirstFrame]) -> list[str]:
    print(
        f"\n## First frame: {args.big_nodes}-node tree (100 nodes under the root), "
        f"{len(runs)} runs; seconds from entering run_test()"
    )
    steps = [
        ("runner.check() (before the start, not counted)", "check"),
        ("app mounted (the pipeline starts before)", "mounted"),
        ("RunStarted put on the queue (tree built)", "run_started"),
        ("last NodeAdded put on the queue", "tree_sent"),
        ("a drain left every node in the tree", "populated"),
        ("tree widget rendered its lines", "rendered"),
        ("that screen update ended (first frame)", "frame"),
    ]
    for title, name in steps:
        values = [getattr(run, name) for run in runs]
        shown = ", ".join(f"{value:.3f}" for value in values)
        print(f"{title:<48} median {statistics.median(values):.3f}  ({shown})")
    app_part = statistics.median(run.frame - run.tree_sent for run in runs)
    print(f"{'app part: last NodeAdded -> first frame':<48} median {app_part:.3f}")
    for index, run in enumerate(runs, start=1):
        shown = "; ".join(
            f"at {d.started:.3f} s {d.items:,} items in {ms(d.seconds)} "
            f"({ms(d.refresh_seconds)} refresh_views)"
            for d in run.drains
        )
        print(f"run {index} drains until populated: {shown}")

    frame = statistics.median(run.frame for run in runs)
    verdict = "PASS" if frame < MAX_FIRST_FRAME else "FAIL"
    return [
        f"{verdict}  first frame of {args.big_nodes} nodes {frame:.3f} s (median), "
        f"target < {MAX_FIRST_FRAME:g} s; the app's part {app_part:.3f} s"
    ]


# -- main ------------------------------------------------------------------------


def describe_machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} CPUs, {cpu}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, "
        f"textual {importlib.metadata.version('textual')}"
    )


def load_average() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--nodes", type=int, default=1000, help="nodes of the flood tree"
    )
    parser.add_argument(
        "--chunk-rate",
        type=float,
        default=10_000,
        help="chunks per second of the flood, over all generators",
    )
    parser.add_argument(
        "--streams", type=int, default=4, help="async generators sharing the rate"
    )
    parser.add_argument(
        "--window", type=float, default=4.0, help="seconds of flood measured"
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=1.0,
        help="seconds of flood before the window, once the tree is shown",
    )
    parser.add_argument(
        "--presses", type=int, default=50, help="key presses during the window"
    )
    parser.add_argument(
        "--big-nodes", type=int, default=10_000, help="nodes of the first-frame tree"
    )
    parser.add_argument(
        "--first-frame-runs",
        type=int,
        default=3,
        help="runs of the first-frame measurement (median reported)",
    )
    parser.add_argument(
        "--only",
        choices=["flood", "first-frame"],
        help="run one measurement (flood includes the keys)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="write cProfile stats of the app thread to DIR (flood.prof for the "
        "flood window, first_frame.prof for the first run) and print the top "
        "entries; the figures of a profiled run are slower",
    )
    return parser.parse_args(argv)


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"machine: {describe_machine()}")
    print(f"load average at start: {load_average()}")
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)

    verdicts: list[str] = []
    if args.only in (None, "flood"):
        profile = args.profile / "flood.prof" if args.profile else None
        flood = await measure_flood(args, profile)
        verdicts += report_flood(args, flood)
    if args.only in (None, "first-frame"):
        runs = []
        for index in range(args.first_frame_runs):
            profile = None
            if args.profile is not None and index == 0:
                profile = args.profile / "first_frame.prof"
            runs.append(await measure_first_frame(args, profile))
        verdicts += report_first_frame(args, runs)

    print(f"\nload average at end: {load_average()}")
    print()
    for line in verdicts:
        print(line)
    return 1 if any(line.startswith("FAIL") for line in verdicts) else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
