"""Find, compile and load the pipeline file that grafo-tui runs."""

from __future__ import annotations

import ast
import contextlib
import inspect
import os
import pathlib
import sys
import sysconfig
import threading
import traceback
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grafo_core
import grafo_core.errors

_TARGET_HELP = "Pass PATH or PATH:NAME, for example `grafo-tui demo.py:build`."
_BUILDER_HELP = (
    "grafo-tui needs a TreeExecutor, a Node or a non-empty list of root Nodes "
    "from it, for example `return TreeExecutor(roots=[root])`."
)


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """A pipeline file to load and, optionally, the function that builds its tree.

    Attributes:
        path: The pipeline file, as the user gave it.
        name: The function named after ':' in the target, or `None`.
    """

    path: pathlib.Path
    name: str | None


class LoadError(Exception):
    """A pipeline file that cannot be loaded or run.

    `str(exc)` is a message for the user: what failed, on which file, line or
    name, and what to do. It carries a traceback only for an exception raised
    by the user's own code, trimmed to the frames in the user's files.
    """


@dataclass(frozen=True, slots=True)
class PipelineFile:
    """A pipeline file that was read and compiled, but not executed.

    Attributes:
        path: The absolute path of the file.
        code: The compiled module code.
        docstring: The module docstring, or `None`.
        function_name: The function that builds the tree: the NAME of the
            target, else `build` when the file defines it at top level, else
            `None`, which means script mode.
        uses_grafo: Whether the file imports `grafo` or one of its submodules.
        defines_build: Whether the file binds `build` at top level, so that
            the path alone, without NAME, calls build().
    """

    path: pathlib.Path
    code: types.CodeType
    docstring: str | None
    function_name: str | None
    uses_grafo: bool
    defines_build: bool = False

    @property
    def is_script(self) -> bool:
        """Whether the file runs as `python PATH` would, not through a function."""
        return self.function_name is None


def parse_target(text: str) -> LoadSpec:
    """Split a `PATH[:NAME]` command-line target into a `LoadSpec`.

    The part after the last ':' is a function name when it is a Python
    identifier. Otherwise the whole text is taken as a path if such a file
    exists, so a path that contains ':' still works.

    Raises:
        LoadError: The target is empty, ends with ':', or names an invalid
            function.
    """
    if not text.strip():
        raise LoadError(f"The pipeline target is empty. {_TARGET_HELP}")

    path_text, separator, name = text.rpartition(":")
    if not separator:
        return LoadSpec(pathlib.Path(text), None)
    if name.isidentifier() and path_text:
        head, colon, middle = path_text.rpartition(":")
        if (
            colon
            and middle.isidentifier()
            and not pathlib.Path(path_text).exists()
            and pathlib.Path(head).exists()
        ):
            raise LoadError(
                f"The target {text!r} has two names after the file {head!r}; "
                f"give one function, as in `{head}:{middle}`. {_TARGET_HELP}"
            )
        return LoadSpec(pathlib.Path(path_text), name)
    if pathlib.Path(text).exists():
        return LoadSpec(pathlib.Path(text), None)
    if not name:
        raise LoadError(
            f"The target {text!r} ends with ':' but names no function. "
            f"Add the function name after ':' or remove the ':'. {_TARGET_HELP}"
        )
    if not path_text:
        raise LoadError(f"The target {text!r} names no file before ':'. {_TARGET_HELP}")
    raise LoadError(
        f"{name!r} in the target {text!r} is not a valid Python function name. "
        f"{_TARGET_HELP}"
    )


def read_pipeline_file(spec: LoadSpec) -> PipelineFile:
    """Read and compile the file of `spec` without executing it.

    Raises:
        LoadError: The file is missing, unreadable, or has a syntax error.
    """
    path = spec.path.expanduser().absolute()
    source = _read_source(path)
    try:
        tree = ast.parse(source, filename=str(path))
        code = compile(tree, str(path), "exec")
    except SyntaxError as exc:
        raise LoadError(_describe_syntax_error(exc, path)) from None
    except ValueError as exc:
        # compile() raises ValueError for source bytes that contain NUL.
        raise LoadError(
            f"{path} is not a Python source file: {exc}. Pass a .py file."
        ) from None

    defines_build = "build" in _top_level_names(tree)
    function_name = spec.name
    if function_name is None and defines_build:
        function_name = "build"
    return PipelineFile(
        path=path,
        code=code,
        docstring=ast.get_docstring(tree),
        function_name=function_name,
        uses_grafo=_imports_grafo(tree),
        defines_build=defines_build,
    )


def _read_source(path: pathlib.Path) -> bytes:
    if not path.exists():
        raise LoadError(
            f"Pipeline file not found: {path}. Check the path; grafo-tui takes "
            f"PATH or PATH:NAME, for example `grafo-tui demo.py:build`."
        )
    if path.is_dir():
        raise LoadError(
            f"{path} is a directory, not a Python file. Pass the path of the .py "
            f"file that defines the pipeline."
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LoadError(
            f"Cannot read the pipeline file {path}: {exc.strerror or exc}. Check "
            f"that the file is readable."
        ) from None


def _describe_syntax_error(exc: SyntaxError, path: pathlib.Path) -> str:
    where = f"line {exc.lineno}" if exc.lineno else "an unknown line"
    if exc.offset:
        where += f", column {exc.offset}"
    message = f"Syntax error in {exc.filename or path} at {where}: {exc.msg}."
    if exc.text and exc.text.strip():
        message += f" The line reads: {exc.text.strip()!r}."
    return message + " Fix the file and run grafo-tui again."


def _top_level_names(tree: ast.Module) -> set[str]:
    """Names that the module body binds with def, class, assignment or import."""
    names: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    names.add(target.id)
        elif isinstance(statement, ast.AnnAssign | ast.AugAssign):
            if isinstance(statement.target, ast.Name):
                names.add(statement.target.id)
        elif isinstance(statement, ast.Import | ast.ImportFrom):
            for alias in statement.names:
                names.add(alias.asname or alias.name.split(".")[0])
    return names


def _imports_grafo(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(_is_grafo_module(alias.name) for alias in node.names):
                return True
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and _is_grafo_module(node.module):
                return True
    return False


def _is_grafo_module(name: str) -> bool:
    return name == "grafo" or name.startswith("grafo.")


@contextlib.contextmanager
def grafo_alias() -> Iterator[None]:
    """Make `grafo` and `grafo.errors` import as `grafo_core` and its errors.

    The previous `sys.modules` entries, if any, come back on exit.
    """
    aliases = {"grafo": grafo_core, "grafo.errors": grafo_core.errors}
    saved = {name: sys.modules.get(name) for name in aliases}
    sys.modules.update(aliases)
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


@contextlib.contextmanager
def pipeline_environment(pipeline: PipelineFile) -> Iterator[None]:
    """Set up what `python PATH` would for the file, for the length of a pass.

    The file's folder goes first on `sys.path` and `grafo` imports as
    `grafo_core`. In script mode `sys.argv` is `[PATH]` as well. Everything is
    put back on exit.
    """
    folder = str(pipeline.path.parent)
    saved_argv = sys.argv
    sys.path.insert(0, folder)
    if pipeline.is_script:
        sys.argv = [str(pipeline.path)]
    try:
        with grafo_alias():
            yield
    finally:
        sys.argv = saved_argv
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)


def module_name_for(pipeline: PipelineFile) -> str:
    """Choose the `__name__` under which the file runs.

    Script mode runs as `__main__`. Function mode uses the file's stem, unless
    that name is not an identifier or another module already has it.
    """
    if pipeline.is_script:
        return "__main__"
    stem = pipeline.path.stem
    existing = sys.modules.get(stem)
    if stem.isidentifier() and (existing is None or _is_module_of(existing, pipeline)):
        return stem
    return "__grafo_pipeline__"


def _is_module_of(module: types.ModuleType, pipeline: PipelineFile) -> bool:
    return getattr(module, "__file__", None) == str(pipeline.path)


def create_module(pipeline: PipelineFile) -> types.ModuleType:
    """Create the empty module that `execute_module` runs the file in."""
    module = types.ModuleType(module_name_for(pipeline), pipeline.docstring)
    module.__file__ = str(pipeline.path)
    return module


def execute_module(pipeline: PipelineFile, module: types.ModuleType) -> None:
    """Execute the file's code in `module`, as `python PATH` or an import would.

    The module stays registered in `sys.modules` under its name, except that
    a script's `__main__` entry is put back when it returns. Call it inside
    `pipeline_environment`.

    Raises:
        LoadError: The code raised an exception, or called `sys.exit` with a
            non-zero status.
        asyncio.CancelledError: The code was cancelled (grafo-tui stopping it).
    """
    name = module.__name__
    saved = sys.modules.get(name)
    sys.modules[name] = module
    keep_registered = False
    try:
        exec(pipeline.code, module.__dict__)
        keep_registered = not pipeline.is_script
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise LoadError(
                f"{pipeline.path} called sys.exit({exc.code!r}). grafo-tui treats a "
                f"non-zero exit status as a failure of the script and exits with "
                f"status 2; a script that succeeded should end normally or call "
                f"sys.exit(0)."
            ) from None
    except KeyboardInterrupt as exc:
        # Ctrl+C reaches only the main thread. On another thread (the runner's)
        # the pipeline's own code raised it, so it is the pipeline's failure.
        if threading.current_thread() is threading.main_thread():
            raise
        action = "Running" if pipeline.is_script else "Importing"
        message = describe_user_exception(exc, f"{action} {pipeline.path}")
        raise LoadError(message) from None
    except Exception as exc:
        action = "Running" if pipeline.is_script else "Importing"
        message = describe_user_exception(exc, f"{action} {pipeline.path}")
        raise LoadError(message) from None
    finally:
        # Like an import, a module whose code failed is not left registered.
        if not keep_registered:
            if saved is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = saved


def async_functions_of(module: types.ModuleType) -> dict[str, Callable[..., Any]]:
    """Return the top-level async and async generator functions the module defines."""
    return {
        name: value
        for name, value in vars(module).items()
        if (inspect.iscoroutinefunction(value) or inspect.isasyncgenfunction(value))
        and getattr(value, "__module__", None) == module.__name__
    }


def resolve_builder(
    module: types.ModuleType, pipeline: PipelineFile
) -> Callable[[], Any]:
    """Return the function that builds the tree, checked to take no arguments.

    Raises:
        LoadError: The name is missing, is not a function, is an async
            generator function, or needs arguments.
    """
    name = pipeline.function_name
    assert name is not None, "resolve_builder() is for function mode only"
    target = f"{pipeline.path}:{name}"
    if name not in vars(module):
        raise LoadError(_describe_missing_name(module, pipeline, name))

    builder = vars(module)[name]
    if not callable(builder):
        raise LoadError(
            f"{name!r} in {pipeline.path} is a value of type "
            f"{type(builder).__name__}, not a function. Pass the name of a "
            f"function that builds the tree. {_BUILDER_HELP}"
        )
    if inspect.isasyncgenfunction(builder):
        raise LoadError(
            f"{target} is an async generator function, which is a node's body, not "
            f"a builder. Pass a function that builds the tree. {_BUILDER_HELP}"
        )
    required = _required_parameters(builder)
    if required:
        raise LoadError(_describe_required_parameters(name, pipeline, required))
    return builder


def _required_parameters(function: Callable[..., Any]) -> list[str]:
    """Return the names of the parameters that a call without arguments misses."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return []
    return [
        parameter.name
        for parameter in signature.parameters.values()
        if parameter.default is parameter.empty
        and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
    ]


def _describe_required_parameters(
    name: str, pipeline: PipelineFile, required: list[str]
) -> str:
    quoted = [repr(parameter) for parameter in required]
    if len(quoted) == 1:
        needs = f"the parameter {quoted[0]}"
        fix = f"Give {quoted[0]} a default value"
    else:
        needs = f"the parameters {', '.join(quoted[:-1])} and {quoted[-1]}"
        fix = "Give them default values"
    return (
        f"The function {name}() in {pipeline.path} has no default value for "
        f"{needs}, but grafo-tui calls it without arguments. {fix}, or pass the "
        f"name of a function that takes no arguments as {pipeline.path}:NAME."
    )


def _describe_missing_name(
    module: types.ModuleType, pipeline: PipelineFile, name: str
) -> str:
    # These are the functions that resolve_builder() accepts. A node's body
    # that takes no arguments is among them, because only a call would show
    # the difference.
    candidates = sorted(
        key
        for key, value in vars(module).items()
        if inspect.isfunction(value)
        and value.__module__ == module.__name__
        and not inspect.isasyncgenfunction(value)
        and not _required_parameters(value)
    )
    message = f"No function named {name!r} in {pipeline.path}."
    if candidates:
        message += (
            f" Functions in the file that take no arguments: "
            f"{', '.join(candidates)}. Pass one of them as {pipeline.path}:NAME,"
        )
    else:
        message += (
            " The file defines no top-level function that takes no arguments. "
            "Define one that builds the tree and pass it as "
            f"{pipeline.path}:NAME,"
        )
    if pipeline.defines_build and name != "build":
        return message + " or pass the path alone to call build()."
    return message + " or pass the path alone to run the file as a script."


async def build_executor(
    builder: Callable[[], Any], pipeline: PipelineFile
) -> grafo_core.TreeExecutor:
    """Call the builder, awaiting it if it is async, and return a `TreeExecutor`.

    A `Node` or a list of `Node`s becomes the roots of a new executor whose
    description is the file's stem.

    Raises:
        LoadError: The builder raised or returned something else.
    """
    target = f"{pipeline.path}:{pipeline.function_name}"
    try:
        result = builder()
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:
        raise LoadError(describe_user_exception(exc, f"Calling {target}()")) from None

    if isinstance(result, grafo_core.TreeExecutor):
        return result
    if isinstance(result, grafo_core.Node):
        roots = [result]
    elif isinstance(result, list | tuple) and result:
        roots = list(result)
        for index, item in enumerate(roots):
            if not isinstance(item, grafo_core.Node):
                raise LoadError(
                    f"{target}() returned a list whose item {index} is a "
                    f"{type(item).__name__}, not a Node. {_BUILDER_HELP}"
                )
    elif isinstance(result, list | tuple):
        raise LoadError(f"{target}() returned an empty list. {_BUILDER_HELP}")
    else:
        raise LoadError(
            f"{target}() returned a value of type {type(result).__name__}. "
            f"{_BUILDER_HELP}"
        )
    return grafo_core.TreeExecutor(description=pipeline.path.stem, roots=roots)


def describe_user_exception(exc: BaseException, action: str) -> str:
    """Describe an exception that the user's code raised, with a trimmed traceback.

    Args:
        exc: The exception, with its `__traceback__`.
        action: What was being done, as the start of a sentence, for example
            "Importing /tmp/demo.py".
    """
    summary = traceback.format_exception_only(type(exc), exc)[-1].strip()
    frames = traceback.extract_tb(exc.__traceback__)
    user_frames = [frame for frame in frames if _is_user_file(frame.filename)]
    if not user_frames:
        user_frames = frames[-1:]
    lines = [
        f"{action} failed with {summary}. Fix the error and run grafo-tui again.",
        "",
        "Traceback of your code (most recent call last):",
    ]
    lines.extend(line.rstrip("\n") for line in traceback.format_list(user_frames))
    lines.extend(
        line.rstrip("\n") for line in traceback.format_exception_only(type(exc), exc)
    )
    return "\n".join(lines)


def _library_folders() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    folders = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    folders.add(str(pathlib.Path(__file__).parent))
    folders.add(str(pathlib.Path(grafo_core.__file__ or "").parent))
    return tuple(str(pathlib.Path(folder).resolve()) for folder in folders)


def _is_user_file(filename: str) -> bool:
    if filename.startswith("<"):
        return False
    resolved = str(pathlib.Path(filename).resolve())
    return not any(
        resolved == folder or resolved.startswith(folder + os.sep)
        for folder in _LIBRARY_FOLDERS
    )


_LIBRARY_FOLDERS = _library_folders()
