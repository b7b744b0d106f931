"""Tests of `--headless` output and exit codes, and of the command line."""

from __future__ import annotations

import importlib.util
import io
import os
import pathlib
import re
import signal
import subprocess
import sys

from grafo_tui import __version__
from grafo_tui.cli import main
from grafo_tui.headless import escape_control, run_headless, short_repr
from grafo_tui.loader import LoadSpec

PIPELINES = pathlib.Path(__file__).parent / "pipelines"
CHUNKS_FILE = PIPELINES / "runner_chunks.py"
REPOSITORY = pathlib.Path(__file__).parents[2]
SUBPROCESS_TIMEOUT = 60  # seconds; only a guard against a hung test


def load_chunks() -> list[object]:
    spec = importlib.util.spec_from_file_location("chunks_for_test", CHUNKS_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CHUNKS


def headless(spec: LoadSpec) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_headless(spec, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grafo_tui", *args],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        timeout=SUBPROCESS_TIMEOUT,
        **kwargs,
    )


# --- formatting helpers ---------------------------------------------------------


def test_escape_control_characters():
    assert escape_control("a\nb\tc\x1b[31m") == "a\\nb\\tc\\x1b[31m"


def test_escape_keeps_printable_unicode():
    assert escape_control("naïve ✓") == "naïve ✓"


def test_short_repr_is_short():
    assert len(short_repr("x" * 1000)) < 100


def test_short_repr_one_line():
    assert "\n" not in short_repr(["a\nb", {"k": "\r"}])


# --- exit codes and lines -------------------------------------------------------


def test_headless_reads_piped_input():
    result = run_cli(
        "--headless", str(PIPELINES / "runner_asks_input.py"), input="Ada\n"
    )
    assert result.returncode == 0, result.stderr
    assert "hello Ada" in result.stdout


def test_passing_pipeline_exits_zero():
    code, out, err = headless(LoadSpec(CHUNKS_FILE, "build_passing"))
    assert code == 0
    assert err == ""
    assert "RunStarted" in out
    assert "RunFinished" in out


def test_every_chunk_has_line():
    chunks = load_chunks()
    code, out, _ = headless(LoadSpec(CHUNKS_FILE, "build_passing"))
    chunk_lines = [line for line in out.splitlines() if "ChunkEmitted" in line]
    assert code == 0
    assert len(chunk_lines) == len(chunks)
    for index, (line, chunk) in enumerate(zip(chunk_lines, chunks, strict=True)):
        assert line.endswith(f"#{index} {short_repr(chunk)}")
        assert "produce" in line


def test_event_line_format():
    _, out, _ = headless(LoadSpec(CHUNKS_FILE, "build_passing"))
    line = next(line for line in out.splitlines() if "NodeStarted" in line)
    seconds, rest = line[:8], line[8:]
    assert float(seconds) >= 0
    assert rest.startswith("  produce" + " " * (24 - len("produce")) + "  NodeStarted")


def test_failed_node_exits_one():
    code, out, _ = headless(LoadSpec(CHUNKS_FILE, "build_failing"))
    assert code == 1
    assert "ValueError: broken on purpose" in out


def test_failed_node_shows_where_it_failed():
    _, out, _ = headless(
        LoadSpec(PIPELINES / "runner_failures.py", "build_always_fails")
    )
    lines = out.splitlines()
    failed = next(i for i, line in enumerate(lines) if "NodeFailed" in line)
    traceback_lines = lines[failed + 1 : failed + 5]
    assert traceback_lines[0].strip() == "Traceback (most recent call last):"
    assert 'runner_failures.py", line 17, in broken' in traceback_lines[1]
    # The engine's frames that lead into the node's code are left out.
    assert "grafo_core" not in "\n".join(traceback_lines)
    assert traceback_lines[-1].strip() == "ValueError: always broken"


def test_summary_has_row_per_node():
    _, out, _ = headless(LoadSpec(CHUNKS_FILE, "build_failing"))
    summary = out[out.index("\nRun ") :]
    rows = {line.split()[0]: line.split() for line in summary.splitlines()[4:]}
    assert rows["produce"][1] == "succeeded"
    assert rows["produce"][-1] == str(len(load_chunks()))
    assert rows["broken"][1] == "failed"
    assert "1 succeeded, 1 failed" in summary


def test_summary_per_script_run():
    code, out, _ = headless(LoadSpec(PIPELINES / "runner_two_runs.py", None))
    assert code == 0
    assert "(run 0)" in out
    assert "(run 1)" in out


def test_run_started_counts_one_root():
    _, out, _ = headless(LoadSpec(PIPELINES / "load_default_build.py", None))
    line = next(line for line in out.splitlines() if "RunStarted" in line)
    assert line.endswith("  RunStarted  1 root, max_workers no limit")


def test_concurrent_run_lines_name_run():
    code, out, _ = headless(LoadSpec(PIPELINES / "headless_concurrent_runs.py", None))
    titles = re.findall(r"^Run (\S+) \((first|second)\)$", out, re.MULTILINE)
    assert code == 0
    assert len(titles) == 2
    lines = out.splitlines()
    for run_id, description in titles:
        name = f"run {description} ({run_id[:8]})"
        for kind in ("RunStarted", "RunFinished"):
            named = [line for line in lines if f"{name}  " in line and kind in line]
            assert len(named) == 1, f"no {kind} line names {name}"


def test_missing_file_exits_two(tmp_path):
    code, out, err = headless(LoadSpec(tmp_path / "absent.py", None))
    assert code == 2
    assert out == ""
    assert "not found" in err
    assert "Traceback" not in err


def test_syntax_error_exits_two(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("x = (\n")
    code, _, err = headless(LoadSpec(path, None))
    assert code == 2
    assert "line 1" in err


def test_wrong_return_type_exits_two():
    code, _, err = headless(LoadSpec(PIPELINES / "load_builders.py", "wrong_type"))
    assert code == 2
    assert "returned a value of type int" in err


def test_printed_output_line():
    code, out, _ = headless(LoadSpec(PIPELINES / "runner_prints.py", None))
    assert code == 0
    assert "stdout  to stdout" in out
    assert "stderr  to stderr" in out


def printed_lines(out: str) -> list[tuple[str, str]]:
    """Return ``(label, text)`` of each printed-output line of `out`."""
    found = []
    for line in out.splitlines():
        match = re.match(r"^ *\d+\.\d{3}  (\S*) +stdout  (.*)$", line)
        if match:
            found.append((match[1], match[2]))
    return found


def test_printed_lines_keep_their_node_and_length():
    _, out, _ = headless(LoadSpec(PIPELINES / "headless_interleaved.py", None))
    printed = printed_lines(out)
    for name in "AB":
        mine = [text for label, text in printed if label == name]
        # The halves of a line stay together although the other node printed
        # in between. A task that the node started counts as the node's, and
        # a long line is printed whole.
        assert mine == [
            f"{name} starts-and finishes",
            f"{name} helper",
            name * 300,
            f"{name} leaves this open",
        ]
    # The unfinished last line comes before the event that ends its node.
    lines = out.splitlines()
    open_line = next(i for i, line in enumerate(lines) if "A leaves this open" in line)
    succeeded = next(
        i for i, line in enumerate(lines) if re.match(r"^ *\S+  A +NodeSucceeded", line)
    )
    assert open_line < succeeded


# --- command line ---------------------------------------------------------------


def test_cli_main_headless_exit_code():
    assert main(["--headless", f"{CHUNKS_FILE}:build_failing"]) == 1


def test_cli_main_invalid_target(capsys):
    assert main(["--headless", f"{CHUNKS_FILE}:"]) == 2
    assert "names no function" in capsys.readouterr().err


def test_cli_screen_mode_load_error(capsys, tmp_path):
    assert main([str(tmp_path / "absent.py")]) == 2
    assert "not found" in capsys.readouterr().err


def test_module_help():
    result = run_cli("--help")
    assert result.returncode == 0
    assert "--headless" in result.stdout
    assert "PATH[:NAME]" in result.stdout


def test_module_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_module_load_error_has_no_traceback():
    result = run_cli("--headless", f"{PIPELINES / 'load_builders.py'}:missing")
    assert result.returncode == 2
    assert "No function named 'missing'" in result.stderr
    assert "Traceback" not in result.stderr


def test_interrupt_exits_130():
    process = subprocess.Popen(
        [sys.executable, "-m", "grafo_tui", "--headless", "runner_blocked.py"],
        cwd=PIPELINES,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPOSITORY)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "ChunkEmitted" in line:
                break
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=SUBPROCESS_TIMEOUT)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "interrupted" in err
    assert "Traceback" not in err
    assert "stream closed" in out
