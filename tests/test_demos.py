"""Run every demo headless and check its exit status and a few of its lines."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEMOS = REPO / "demos"
DEMO_TIMEOUT = 60.0

# One headless event line: seconds, label padded to 24 columns, kind, detail.
EVENT_LINE = re.compile(
    r"^ *\d+\.\d{3}  (?P<label>.+?) *  (?P<kind>[A-Z][A-Za-z]+)(?:  (?P<detail>.*))?$"
)
STDOUT_LINE = re.compile(r"^ *(?:\d+\.\d{3})?  (?P<label>.*?) *  stdout  (?P<text>.*)$")


@dataclass(frozen=True, slots=True)
class EventLine:
    label: str
    kind: str
    detail: str


@dataclass(frozen=True, slots=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str

    @property
    def events(self) -> list[EventLine]:
        return parse_events(self.stdout)

    @property
    def printed(self) -> list[str]:
        """Lines that the pipeline wrote to stdout, as the headless mode shows them."""
        return [text for _, text in self.printed_by]

    @property
    def printed_by(self) -> list[tuple[str, str]]:
        """``(label, text)`` per line the pipeline wrote to stdout; the label
        is the writing node's, or "" for the script's own code."""
        found = []
        for line in self.stdout.splitlines():
            match = STDOUT_LINE.match(line)
            if match is not None:
                found.append((match["label"], match["text"]))
        return found


def parse_events(stdout: str) -> list[EventLine]:
    found = []
    for line in stdout.splitlines():
        match = EVENT_LINE.match(line)
        if match is not None:
            found.append(
                EventLine(match["label"], match["kind"], match["detail"] or "")
            )
    return found


def split_runs(events: list[EventLine]) -> list[list[EventLine]]:
    """Group event lines by run. Each run begins at a RunStarted line."""
    runs: list[list[EventLine]] = []
    for event in events:
        if event.kind == "RunStarted":
            runs.append([])
        if runs:
            runs[-1].append(event)
    return runs


def max_running(events: list[EventLine]) -> int:
    """Return the largest number of nodes running at once, from start/end lines."""
    ends = {"NodeSucceeded", "NodeFailed", "NodeTimedOut", "NodeCancelled"}
    running = 0
    highest = 0
    for event in events:
        if event.kind == "NodeStarted":
            running += 1
            highest = max(highest, running)
        elif event.kind in ends:
            running -= 1
    return highest


def index_of(events: list[EventLine], label: str, kind: str) -> int:
    for index, event in enumerate(events):
        if event.label == label and event.kind == kind:
            return index
    raise AssertionError(f"no {kind} line for {label!r}")


def kinds_of(events: list[EventLine], label: str) -> list[str]:
    return [event.kind for event in events if event.label == label]


def detail_of(events: list[EventLine], label: str, kind: str) -> str:
    return events[index_of(events, label, kind)].detail


def pipeline_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(REPO), env.get("PYTHONPATH", "")) if part
    )
    return env


def run_headless(target: str) -> Completed:
    command = [sys.executable, "-m", "grafo_tui", "--headless", target]
    return run_command(command)


def run_script(path: Path) -> Completed:
    return run_command([sys.executable, str(path)])


def run_command(command: list[str]) -> Completed:
    result = subprocess.run(
        command,
        cwd=REPO,
        env=pipeline_env(),
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
    )
    return Completed(result.returncode, result.stdout, result.stderr)


def demo_paths() -> list[Path]:
    return sorted(DEMOS.glob("*.py"))


EXPECTED_STATUS = {
    "quickstart.py": 0,
    "etl.py": 0,
    "streaming.py": 0,
    "dynamic.py": 0,
    "failures.py": 1,
    "concurrency.py": 0,
    "blocking.py": 0,
    "cycle.py": 0,
    "large.py": 0,
    "grafo_compat.py": 0,
}


@pytest.fixture(scope="module")
def headless_results() -> dict[str, Completed]:
    """Run each demo once; the checks below share the results."""
    return {name: run_headless(f"demos/{name}") for name in EXPECTED_STATUS}


# --- every demo -------------------------------------------------------------


def test_every_demo_has_expected_status() -> None:
    names = {path.name for path in demo_paths()}
    assert names == set(EXPECTED_STATUS)


@pytest.mark.parametrize("name", sorted(EXPECTED_STATUS))
def test_demo_exit_status(name: str, headless_results: dict[str, Completed]) -> None:
    result = headless_results[name]
    assert result.returncode == EXPECTED_STATUS[name], result.stderr
    assert result.stderr == ""
    assert "RunFinished" in {event.kind for event in result.events}


@pytest.mark.parametrize("path", demo_paths(), ids=lambda path: path.name)
def test_demo_docstring_has_try_section(path: Path) -> None:
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert docstring is not None
    lines = docstring.splitlines()
    assert "Try:" in lines
    after_try = lines[lines.index("Try:") + 1 :]
    assert after_try
    assert after_try[0].startswith("- ")


# --- what each demo shows ---------------------------------------------------


def test_quickstart_forwards_automatically(headless_results) -> None:
    events = headless_results["quickstart.py"].events
    assert "forward to 'page'" in detail_of(events, "process", "NodeAdded")
    assert "forward to 'counts'" in detail_of(events, "save", "NodeAdded")
    assert index_of(events, "fetch", "NodeSucceeded") < index_of(
        events, "process", "NodeStarted"
    )
    assert index_of(events, "process", "NodeSucceeded") < index_of(
        events, "save", "NodeStarted"
    )
    assert "counts={" in detail_of(events, "save", "NodeStarted")


def test_headless_names_the_node_that_printed(headless_results) -> None:
    printed_by = headless_results["quickstart.py"].printed_by
    assert [label for label, text in printed_by if "distinct words" in text] == ["save"]
    # The script's own print after the run belongs to no node.
    assert ("", "done with 0 errors") in printed_by


def test_etl_merge_waits_for_all_sources(headless_results) -> None:
    events = headless_results["etl.py"].events
    merge_started = index_of(events, "merge", "NodeStarted")
    for transform in ("clean_orders", "clean_customers", "parse_stock"):
        assert index_of(events, transform, "NodeSucceeded") < merge_started
    assert index_of(events, "merge", "NodeSucceeded") < index_of(
        events, "load", "NodeStarted"
    )


def test_etl_before_forward_indexes_customers(headless_results) -> None:
    result = headless_results["etl.py"]
    merge_arguments = detail_of(result.events, "merge", "NodeStarted")
    assert "orders=[" in merge_arguments
    assert "customers={'c1'" in merge_arguments
    assert "stock={" in merge_arguments
    assert any("backorder" in line for line in result.printed)


def test_streaming_writers_run_in_parallel(headless_results) -> None:
    events = headless_results["streaming.py"].events
    fast_done = index_of(events, "fast_writer", "NodeSucceeded")
    assert index_of(events, "slow_writer", "ChunkEmitted") < fast_done
    assert index_of(events, "steady_writer", "ChunkEmitted") < fast_done


def test_streaming_join_receives_lists(headless_results) -> None:
    result = headless_results["streaming.py"]
    events = result.events
    join_started = index_of(events, "join_answers", "NodeStarted")
    for writer in ("fast_writer", "steady_writer", "slow_writer"):
        assert index_of(events, writer, "NodeSucceeded") < join_started
    arguments = detail_of(events, "join_answers", "NodeStarted")
    for name in ("fast", "steady", "slow"):
        assert f"{name}=[" in arguments
    assert len(result.printed) == 3


def test_dynamic_disconnect_and_redirect(headless_results) -> None:
    events = headless_results["dynamic.py"].events
    for dropped in ("reorder_supplies", "ship_freight", "ship_pickup"):
        assert "EdgeRemoved" in kinds_of(events, dropped)
        assert "NodeStarted" not in kinds_of(events, dropped)
    for kept in ("reserve_items", "ship_express"):
        assert "NodeSucceeded" in kinds_of(events, kept)


def test_dynamic_crawler_grows_tree(headless_results) -> None:
    events = headless_results["dynamic.py"].events
    crawled = {
        event.label
        for event in events
        if event.label.startswith("crawl ") and event.kind == "NodeSucceeded"
    }
    assert "crawl /docs/api/executor" in crawled
    assert len(crawled) > 3
    # A discovered page joins the graph while its parent is still running.
    assert index_of(events, "crawl /docs", "NodeAdded") < index_of(
        events, "crawl /", "NodeSucceeded"
    )


def test_failures_raise_and_time_out(headless_results) -> None:
    events = headless_results["failures.py"].events
    assert "ConnectionError" in detail_of(events, "call_flaky_api", "NodeFailed")
    assert "NodeTimedOut" in kinds_of(events, "run_slow_query")
    for descendant in ("parse_response", "store_result", "draw_chart"):
        assert "NodeStarted" not in kinds_of(events, descendant)
    # The summary writes states as words, as the screen does.
    summary = headless_results["failures.py"].stdout.rsplit("\nRun ", 1)[1]
    assert "1 timed out" in summary
    assert "timed_out" not in summary


def test_failures_running_node_finishes(headless_results) -> None:
    events = headless_results["failures.py"].events
    assert index_of(events, "warm_cache", "NodeStarted") < index_of(
        events, "call_flaky_api", "NodeFailed"
    )
    assert "NodeSucceeded" in kinds_of(events, "warm_cache")
    assert "NodeStarted" not in kinds_of(events, "send_report")
    finished = [event for event in events if event.kind == "RunFinished"]
    assert len(finished) == 1
    assert "2 errors" in finished[0].detail


def test_concurrency_script_runs_three_trees(headless_results) -> None:
    result = headless_results["concurrency.py"]
    chain, fan_out, limited = split_runs(result.events)
    assert max_running(chain) == 1
    assert max_running(fan_out) == 5
    assert max_running(limited) == 2
    assert "max_workers 2" in limited[0].detail
    assert len(result.printed) == 3


def test_concurrency_function_by_name() -> None:
    result = run_headless("demos/concurrency.py:build_limited")
    assert result.returncode == 0, result.stderr
    runs = split_runs(result.events)
    assert len(runs) == 1
    assert max_running(runs[0]) == 2


def test_blocking_sleep_stops_ticker(headless_results) -> None:
    events = headless_results["blocking.py"].events

    def ticks_while(label: str) -> int:
        started = index_of(events, label, "NodeStarted")
        finished = index_of(events, label, "NodeSucceeded")
        window = events[started:finished]
        return sum(
            event.label == "ticker" and event.kind == "ChunkEmitted" for event in window
        )

    assert ticks_while("polite_wait") > 1
    assert ticks_while("threaded_wait") > 1
    # At most one tick, queued before the sleep, may be logged after it returns.
    assert ticks_while("blocking_wait") <= 1


def test_cycle_retries_until_success(headless_results) -> None:
    events = headless_results["cycle.py"].events
    attempts = kinds_of(events, "call_service").count("NodeStarted")
    assert attempts == 3
    assert kinds_of(events, "check_reply").count("NodeStarted") == attempts
    assert "EdgeRemoved" in kinds_of(events, "call_service")
    assert kinds_of(events, "save_reply").count("NodeSucceeded") == 1


def test_large_graph_completes(headless_results) -> None:
    result = headless_results["large.py"]
    events = result.events
    added = [event for event in events if event.kind == "NodeAdded"]
    assert len(added) >= 1000
    assert any("async generator" in event.detail for event in added)
    assert any(event.kind == "ChunkEmitted" for event in events)
    succeeded = {event.label for event in events if event.kind == "NodeSucceeded"}
    assert len(succeeded) == len(added)


def test_grafo_compat_runs_with_alias(headless_results) -> None:
    result = headless_results["grafo_compat.py"]
    notices = [line for line in result.stdout.splitlines() if "notice  " in line]
    assert len(notices) == 1
    assert "grafo" in notices[0]
    assert "int" in detail_of(result.events, "count_letters", "NodeSucceeded")
    assert any("letters in" in line for line in result.printed)


# --- plain scripts ----------------------------------------------------------


def test_quickstart_runs_as_script() -> None:
    result = run_script(DEMOS / "quickstart.py")
    assert result.returncode == 0, result.stderr
    assert "done with 0 errors" in result.stdout


def test_concurrency_runs_as_script() -> None:
    result = run_script(DEMOS / "concurrency.py")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("chain: ")
    assert lines[1].startswith("fan-out: ")
    assert lines[2].startswith("fan-out, max_workers=2: ")
