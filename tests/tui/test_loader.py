"""Tests of target parsing and of the load errors a user can meet."""

from __future__ import annotations

import pathlib
import queue
import sys
import textwrap

import pytest

import grafo_core
from grafo_core import events
from grafo_tui.loader import (
    LoadError,
    LoadSpec,
    grafo_alias,
    parse_target,
    read_pipeline_file,
)
from grafo_tui.pipeline_messages import Notice, PipelineEnded
from grafo_tui.runner import PipelineRunner

PIPELINES = pathlib.Path(__file__).parent / "pipelines"
BUILDERS = PIPELINES / "load_builders.py"


def write(tmp_path: pathlib.Path, name: str, source: str) -> pathlib.Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def run_to_end(runner: PipelineRunner) -> list[object]:
    """Start the runner and return every message up to its `PipelineEnded`."""
    runner.start()
    messages = []
    try:
        while True:
            message = runner.queue.get(timeout=10)
            messages.append(message)
            if isinstance(message, PipelineEnded):
                return messages
    finally:
        runner.stop()


def ended(messages: list[object]) -> PipelineEnded:
    last = messages[-1]
    assert isinstance(last, PipelineEnded)
    return last


# --- parse_target -----------------------------------------------------------------


def test_parse_target_path_alone():
    spec = parse_target("demos/pipeline.py")
    assert spec == LoadSpec(pathlib.Path("demos/pipeline.py"), None)


def test_parse_target_path_and_name():
    spec = parse_target("demos/pipeline.py:make_tree")
    assert spec == LoadSpec(pathlib.Path("demos/pipeline.py"), "make_tree")


def test_parse_target_existing_path_with_colon(tmp_path):
    path = write(tmp_path, "odd:name.py", "x = 1\n")
    # "name.py" is no identifier, so the whole text is the path.
    assert parse_target(str(path)) == LoadSpec(path, None)


def test_parse_target_with_two_names_says_so(tmp_path):
    path = write(tmp_path, "pipeline.py", "def build(): ...\n")
    with pytest.raises(LoadError) as caught:
        parse_target(f"{path}:build:extra")
    assert "two names after the file" in str(caught.value)
    assert f"`{path}:build`" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("pipeline.py:", "names no function"),
        (":build", "names no file"),
        ("pipeline.py:1build", "'1build'"),
    ],
)
def test_parse_target_invalid(text, fragment):
    with pytest.raises(LoadError) as caught:
        parse_target(text)
    assert fragment in str(caught.value)


# --- reading and compiling ------------------------------------------------------


def test_missing_file_names_path(tmp_path):
    path = tmp_path / "absent.py"
    with pytest.raises(LoadError) as caught:
        read_pipeline_file(LoadSpec(path, None))
    message = str(caught.value)
    assert str(path) in message
    assert "not found" in message


def test_directory_is_rejected(tmp_path):
    with pytest.raises(LoadError) as caught:
        read_pipeline_file(LoadSpec(tmp_path, None))
    assert "is a directory" in str(caught.value)


def test_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "broken.py", "x = 1\n\ndef broken(:\n    pass\n")
    with pytest.raises(LoadError) as caught:
        read_pipeline_file(LoadSpec(path, None))
    message = str(caught.value)
    assert str(path) in message
    assert "line 3" in message
    assert "def broken(:" in message


def test_syntax_error_reported_by_check(tmp_path):
    path = write(tmp_path, "broken.py", "def build(:\n")
    runner = PipelineRunner(LoadSpec(path, None))
    with pytest.raises(LoadError) as caught:
        runner.check()
    assert "line 1" in str(caught.value)


def test_docstring_read_without_import():
    runner = PipelineRunner(LoadSpec(BUILDERS, "sync_executor"))
    runner.check()
    assert (
        runner.module_doc
        == "Builders of each accepted kind, and some that grafo-tui rejects."
    )


def test_build_function_selects_function_mode():
    pipeline = read_pipeline_file(LoadSpec(PIPELINES / "load_default_build.py", None))
    assert pipeline.function_name == "build"


def test_file_without_build_is_script():
    pipeline = read_pipeline_file(LoadSpec(PIPELINES / "runner_two_runs.py", None))
    assert pipeline.is_script


# --- importing and resolving NAME -----------------------------------------------


IMPORT_FAILS = """\
    def helper():
        raise ValueError("boom at import")


    def build():
        return None


    helper()
"""


def test_import_exception_shows_user_traceback(tmp_path):
    path = write(tmp_path, "fails_on_import.py", IMPORT_FAILS)
    runner = PipelineRunner(LoadSpec(path, None))
    with pytest.raises(LoadError) as caught:
        runner.check()
    message = str(caught.value)
    assert "ValueError: boom at import" in message
    assert f'File "{path}", line 9, in <module>' in message
    assert f'File "{path}", line 2, in helper' in message
    assert "grafo_tui" not in message


def test_import_exception_leaves_no_module(tmp_path):
    path = write(tmp_path, "fails_on_import.py", IMPORT_FAILS)
    with pytest.raises(LoadError):
        PipelineRunner(LoadSpec(path, None)).check()
    assert "fails_on_import" not in sys.modules


def test_missing_name_lists_functions():
    runner = PipelineRunner(LoadSpec(BUILDERS, "missing"))
    with pytest.raises(LoadError) as caught:
        runner.check()
    message = str(caught.value)
    assert "No function named 'missing'" in message
    for name in ("sync_executor", "async_node_list", "wrong_type", "double"):
        assert name in message


def test_missing_name_lists_only_callable_builders():
    runner = PipelineRunner(LoadSpec(BUILDERS, "missing"))
    with pytest.raises(LoadError) as caught:
        runner.check()
    message = str(caught.value)
    assert "needs_arguments" not in message
    assert "node_body" not in message


def test_missing_name_in_file_without_functions(tmp_path):
    path = write(tmp_path, "empty.py", "VALUE = 1\n")
    with pytest.raises(LoadError) as caught:
        PipelineRunner(LoadSpec(path, "build")).check()
    assert "defines no top-level function that takes no arguments" in str(caught.value)


def test_missing_name_with_build_suggests_build():
    path = PIPELINES / "load_default_build.py"
    with pytest.raises(LoadError) as caught:
        PipelineRunner(LoadSpec(path, "nope")).check()
    message = str(caught.value)
    assert "pass the path alone to call build()" in message
    assert "script" not in message


def test_missing_name_without_build_suggests_script():
    with pytest.raises(LoadError) as caught:
        PipelineRunner(LoadSpec(BUILDERS, "nope")).check()
    message = str(caught.value)
    assert "pass the path alone to run the file as a script" in message
    assert "build()" not in message


@pytest.mark.parametrize(
    ("parameters", "fragments"),
    [
        ("size", ["parameter 'size'", "Give 'size' a default value"]),
        ("depth, *, width", ["parameters 'depth' and 'width'", "default values"]),
    ],
)
def test_builder_parameters_message(tmp_path, parameters, fragments):
    path = write(tmp_path, "sized.py", f"def build({parameters}):\n    pass\n")
    with pytest.raises(LoadError) as caught:
        PipelineRunner(LoadSpec(path, None)).check()
    message = str(caught.value)
    assert f"The function build() in {path}" in message
    assert "calls it without arguments" in message
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("NOT_A_FUNCTION", "is a value of type int, not a function"),
        ("needs_arguments", "has no default value for the parameter 'depth'"),
        ("node_body", "is an async generator function"),
    ],
)
def test_unusable_builder_rejected_by_check(name, fragment):
    with pytest.raises(LoadError) as caught:
        PipelineRunner(LoadSpec(BUILDERS, name)).check()
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("wrong_type", "returned a value of type int"),
        ("list_with_wrong_item", "item 1 is a str, not a Node"),
    ],
)
def test_wrong_return_type_ends_pipeline(name, fragment):
    runner = PipelineRunner(LoadSpec(BUILDERS, name))
    runner.check()
    error = ended(run_to_end(runner)).error
    assert error is not None
    assert fragment in str(error)


def test_builder_exception_shows_user_traceback(tmp_path):
    source = """\
        def build():
            return {}["missing key"]
    """
    path = write(tmp_path, "raises_in_build.py", source)
    error = ended(run_to_end(PipelineRunner(LoadSpec(path, None)))).error
    assert error is not None
    assert "KeyError: 'missing key'" in str(error)
    assert f'File "{path}", line 2, in build' in str(error)


def test_script_without_tree_is_error(tmp_path):
    path = write(tmp_path, "no_tree.py", 'print("no tree here")\n')
    error = ended(run_to_end(PipelineRunner(LoadSpec(path, None)))).error
    assert error is not None
    assert "without running a TreeExecutor" in str(error)
    assert str(path) in str(error)


def test_script_exit_status_is_error(tmp_path):
    path = write(tmp_path, "exits.py", "import sys\nsys.exit(3)\n")
    error = ended(run_to_end(PipelineRunner(LoadSpec(path, None)))).error
    assert error is not None
    assert "sys.exit(3)" in str(error)


def test_script_exception_shows_user_traceback(tmp_path):
    path = write(tmp_path, "script_raises.py", "raise RuntimeError('script broke')\n")
    error = ended(run_to_end(PipelineRunner(LoadSpec(path, None)))).error
    assert error is not None
    assert "RuntimeError: script broke" in str(error)
    assert f'File "{path}", line 1, in <module>' in str(error)


# --- the grafo alias ------------------------------------------------------------


def test_grafo_alias_installs_and_restores():
    marker = object()
    saved = sys.modules.get("grafo")
    sys.modules["grafo"] = marker  # type: ignore[assignment]
    try:
        with grafo_alias():
            import grafo
            import grafo.errors

            assert grafo is grafo_core
            assert grafo.errors is grafo_core.errors
        assert sys.modules["grafo"] is marker
    finally:
        if saved is None:
            sys.modules.pop("grafo", None)
        else:
            sys.modules["grafo"] = saved


def test_pipeline_importing_grafo_runs_on_grafo_core():
    before = sys.modules.get("grafo")
    runner = PipelineRunner(LoadSpec(PIPELINES / "load_grafo_alias.py", None))
    runner.check()
    messages = run_to_end(runner)

    assert ended(messages).error is None
    started = [m for m in messages if isinstance(m, events.RunStarted)]
    assert [m.description for m in started] == [
        "grafo=grafo_core errors=grafo_core.errors"
    ]
    notices = [m.text for m in messages if isinstance(m, Notice)]
    assert len(notices) == 1
    assert "grafo_core" in notices[0]
    assert sys.modules.get("grafo") is before


def test_pipeline_without_grafo_import_has_no_notice():
    runner = PipelineRunner(LoadSpec(BUILDERS, "single_node"))
    runner.check()
    messages = run_to_end(runner)
    assert not [m for m in messages if isinstance(m, Notice)]


def test_check_output_goes_to_queue(tmp_path):
    source = """\
        print("printed while importing")

        def build():
            return None
    """
    path = write(tmp_path, "prints_on_import.py", source)
    runner = PipelineRunner(LoadSpec(path, None))
    runner.check()
    texts = []
    while True:
        try:
            texts.append(runner.queue.get_nowait().text)
        except queue.Empty:
            break
    assert texts == ["printed while importing\n"]
