"""Form that describes a node to add under the selected node."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static

from grafo_core import auto_forward_candidates
from grafo_tui.builtin_nodes import BUILTINS
from grafo_tui.screens.dialog import FormDialog
from grafo_tui.widgets.mount_safe_select import MountSafeSelect

AUTO = "AUTO"
"""The forward field's value for `Node.AUTO`."""


@dataclass(frozen=True, slots=True)
class AddRequest:
    """A valid add-node form: what to build and where to forward the parent's output.

    Attributes:
        node_id: The new node's uuid.
        function: The coroutine or async generator function it runs.
        kwargs: Its keyword arguments.
        forward: `None`, `AUTO`, or the parameter that receives the parent's output.
        timeout: Seconds for one run, or `None` for no limit.
        fields: The text of each field as typed, by field id, so that the
            form can open again with it when the engine rejects the node.
    """

    node_id: str
    function: Callable[..., Any]
    kwargs: dict[str, Any]
    forward: str | None
    timeout: float | None
    fields: dict[str, str] = field(default_factory=dict)


def suggest_node_id(base: str, taken: Iterable[str]) -> str:
    """Return `base-1`, `base-2`, ..., the first one not in `taken`."""
    taken = set(taken)
    number = 1
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def function_choices(
    functions: dict[str, Callable], *, entry_point: str | None = None
) -> dict[str, Callable]:
    """Return the form's choices: the file's functions, then the built-ins.

    `entry_point` names the file's function that builds or runs the tree. It
    is left out, because a node that runs it would build or run the pipeline
    again.
    """
    choices = {
        name: function for name, function in functions.items() if name != entry_point
    }
    for name, function in BUILTINS.items():
        choices[f"{name} (built-in)"] = function
    return choices


def parse_add_form(
    *,
    node_id: str,
    taken_ids: Iterable[str],
    function: Callable | None,
    kwargs_text: str,
    forward_text: str,
    timeout_text: str,
) -> tuple[AddRequest | None, dict[str, str]]:
    """Validate the form's fields.

    Returns:
        The request and no errors when every field is valid, else `None` and
        one message per invalid field, keyed by the field's name.
    """
    errors: dict[str, str] = {}
    node_id = node_id.strip()
    if not node_id:
        errors["node-id"] = "The id is empty."
    elif node_id in set(taken_ids):
        errors["node-id"] = f"A node with id {node_id!r} already exists."
    if function is None:
        errors["function"] = "Choose a function to run."

    kwargs = _parse_kwargs(kwargs_text, errors)
    if kwargs is not None and function is not None:
        _check_kwargs(function, kwargs, errors)
    forward = _parse_forward(forward_text.strip(), function, kwargs, errors)
    target = forward
    if forward == AUTO and function is not None and kwargs is not None:
        target = _auto_target(function, kwargs, errors)
    # A forward error already names the fix, and `target` is unknown then.
    checkable = "kwargs" not in errors and "forward" not in errors
    if kwargs is not None and function is not None and checkable:
        _check_required(function, kwargs, target, errors)
    timeout = _parse_timeout(timeout_text.strip(), errors)
    if errors:
        return None, errors
    assert function is not None and kwargs is not None
    return AddRequest(node_id, function, kwargs, forward, timeout), errors


def _parse_kwargs(text: str, errors: dict[str, str]) -> dict[str, Any] | None:
    source = text.strip() or "{}"
    try:
        value = ast.literal_eval(source)
    except SyntaxError as error:
        errors["kwargs"] = (
            f"Invalid Python syntax at column {error.offset}: {error.msg}."
        )
        return None
    except (ValueError, TypeError, MemoryError, RecursionError):
        errors["kwargs"] = describe_non_literal(source)
        return None
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        errors["kwargs"] = "Enter a dict with string keys, such as {'seconds': 0.5}."
        return None
    return value


LITERALS_TEXT = "strings, numbers, lists, tuples, dicts, sets, True, False and None"
"""The values that `ast.literal_eval`, which reads the kwargs field, accepts."""

_NON_LITERAL_KINDS = {
    ast.Name: "a name",
    ast.Call: "a function call",
    ast.Attribute: "an attribute access",
    ast.Subscript: "a subscript",
    ast.Lambda: "a lambda",
    ast.BinOp: "an operation",
    ast.BoolOp: "an operation",
    ast.Compare: "a comparison",
    ast.JoinedStr: "an f-string",
}


def describe_non_literal(source: str) -> str:
    """Return a message naming the part of `source` that is not a literal.

    `source` parses as a Python expression but `ast.literal_eval` rejected
    it; its own message shows AST objects rather than the text typed.
    """
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        tree = None
    offender = _first_non_literal(tree.body) if tree is not None else None
    if offender is None:
        return f"Only literals are accepted: {LITERALS_TEXT}."
    segment = ast.get_source_segment(source, offender) or ast.unparse(offender)
    if isinstance(offender, ast.Dict):
        kind = "a ** unpacking"
    else:
        kind = _NON_LITERAL_KINDS.get(type(offender), "an expression")
    message = (
        f"`{segment}` is {kind}, not a value; only literals are accepted: "
        f"{LITERALS_TEXT}."
    )
    if isinstance(offender, ast.Name):
        message += f" Quote it for text: {segment!r}."
    return message


def _first_non_literal(node: ast.expr) -> ast.expr | None:
    """Return the first subexpression of `node` that is not a literal, if any."""
    if isinstance(node, ast.Constant):
        return None
    if isinstance(node, ast.Dict):
        keys = [key for key in node.keys if key is not None]
        if len(keys) < len(node.keys):
            return node  # contains a ** unpacking
        children: list[ast.expr] = [*keys, *node.values]
    elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        children = list(node.elts)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        children = [node.operand]
    elif (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, (ast.Add, ast.Sub))
        and isinstance(node.right, ast.Constant)
        and isinstance(node.right.value, complex)
    ):
        children = [node.left]  # a complex number such as 1+2j
    else:
        return node
    for child in children:
        found = _first_non_literal(child)
        if found is not None:
            return found
    return None


def _parse_forward(
    text: str,
    function: Callable | None,
    kwargs: dict[str, Any] | None,
    errors: dict[str, str],
) -> str | None:
    if not text or text.lower() == "none":
        return None
    if text == AUTO:
        return AUTO
    if not text.isidentifier():
        errors["forward"] = f"{text!r} is not none, AUTO or a parameter name."
        return None
    if kwargs is not None and text in kwargs:
        errors["forward"] = f"{text!r} is already set in kwargs."
    elif function is not None and text in positional_only(function):
        errors["forward"] = _positional_only_text(function, [text])
    elif function is not None and not _accepts(function, text):
        errors["forward"] = f"The function has no parameter {text!r}."
        if text.lower() == AUTO.lower():
            errors["forward"] += (
                f" Write {AUTO} in capitals to forward to its one free parameter."
            )
    return text


def _check_kwargs(
    function: Callable, kwargs: dict[str, Any], errors: dict[str, str]
) -> None:
    named_only = positional_only(function)
    by_position = [name for name in kwargs if name in named_only]
    unknown = [name for name in kwargs if not _accepts(function, name)]
    if by_position:
        errors["kwargs"] = _positional_only_text(function, by_position)
    elif unknown:
        errors["kwargs"] = (
            f"The function takes no parameter {', '.join(map(repr, unknown))}; "
            f"it takes {parameters_text(function)}."
        )


def _auto_target(
    function: Callable, kwargs: dict[str, Any], errors: dict[str, str]
) -> str | None:
    """Return the parameter that `Node.AUTO` forwards to, or `None` with an
    error under "forward" when there is not exactly one.

    The rule is the engine's own, `grafo_core.auto_forward_candidates`.
    """
    try:
        free = auto_forward_candidates(function, kwargs)
    except (TypeError, ValueError):  # no signature to read
        return None
    if len(free) == 1:
        return free[0]
    name = getattr(function, "__name__", "the function")
    if not free and not kwargs:
        if _has_parameters(function):
            # Only *args, **kwargs or positional-only ones, which AUTO skips.
            takes = (
                f"{name}{parameters_text(function)} takes no named parameter "
                "(AUTO skips *args, **kwargs and positional-only parameters)"
            )
        else:
            takes = f"{name} takes no parameters"
        errors["forward"] = (
            f"AUTO needs exactly one parameter that kwargs does not set, and {takes}; "
            "leave forward empty to pass no data."
        )
    elif not free:
        errors["forward"] = (
            f"AUTO needs exactly one parameter that kwargs does not set, and kwargs "
            f"sets every parameter of {name}; leave forward empty to pass no data, "
            "or take a parameter out of kwargs."
        )
    else:
        names = ", ".join(free)
        errors["forward"] = (
            "AUTO needs exactly one parameter that kwargs does not set, and "
            f"{name} has {len(free)} ({names}); write one of them as forward, "
            f"such as {free[0]}, or set the others in kwargs."
        )
    return None


def _check_required(
    function: Callable,
    kwargs: dict[str, Any],
    forward: str | None,
    errors: dict[str, str],
) -> None:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return
    kinds = (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
    )
    missing = [
        p.name
        for p in parameters
        if p.kind in kinds
        and p.default is inspect.Parameter.empty
        and p.name not in kwargs
        and p.name != forward
    ]
    named_only = positional_only(function)
    unreachable = [name for name in missing if name in named_only]
    if unreachable:
        names = ", ".join(map(repr, unreachable))
        errors["function"] = (
            f"Missing {names}: the function takes {parameters_text(function)}, and "
            "a node passes every argument by name, so it cannot set a required "
            "positional-only parameter; choose another function."
        )
    missing = [name for name in missing if name not in named_only]
    if missing:
        errors["kwargs"] = (
            f"Missing {', '.join(map(repr, missing))}: the function takes "
            f"{parameters_text(function)}; give a value in kwargs or forward it."
        )


def parameters_text(function: Callable) -> str:
    """Return the function's parameters as written, such as ``(seconds=1.0)``."""
    try:
        return str(inspect.signature(function))
    except (TypeError, ValueError):
        return "(unknown parameters)"


def positional_only(function: Callable) -> set[str]:
    """Return the names of the function's positional-only parameters."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return set()
    return {p.name for p in parameters if p.kind is p.POSITIONAL_ONLY}


def _positional_only_text(function: Callable, names: list[str]) -> str:
    listed = ", ".join(map(repr, names))
    verb, pronoun = ("is", "it") if len(names) == 1 else ("are", "they")
    return (
        f"{listed} {verb} positional-only in {parameters_text(function)}, so "
        f"{pronoun} cannot be given by name. A node passes every argument by name."
    )


def _has_parameters(function: Callable) -> bool:
    try:
        return bool(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return True


def _accepts(function: Callable, name: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return True
    if name in parameters:
        return True
    return any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def _parse_timeout(text: str, errors: dict[str, str]) -> float | None:
    if not text or text.lower() == "none":
        return None
    try:
        timeout = float(text)
    except ValueError:
        errors["timeout"] = f"{text!r} is not a number of seconds."
        return None
    if not timeout > 0:
        errors["timeout"] = "The timeout must be more than 0 seconds."
        return None
    return timeout


_TEXT_FIELDS = ("node-id", "kwargs", "forward", "timeout")


class FormErrors(Static):
    """The form's error messages, scrolled into view when their height changes.

    On a short terminal the dialog scrolls, and new errors can sit below its
    visible part. Their new height is known only after the layout that the
    update starts, so the scroll waits for the `Resize` that follows it.
    """

    def on_resize(self) -> None:
        if self.size.height and str(self.render()).strip():
            self.scroll_visible(animate=False)


class AddNodeScreen(FormDialog[AddRequest | None]):
    """Ask for the new node's id, function, kwargs, forwarding and timeout.

    `taken_ids` returns the ids in the run now. The form calls it for each
    check, so an id that the run gained while the form is open counts too.
    `fields` fills the form with earlier text, by field id (see
    `AddRequest.fields`), and `error` appears under it from the start.
    """

    CONFIRM_ID = "add"

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="add_node.cancel"),
    ]

    def __init__(
        self,
        *,
        parent_label: str,
        functions: dict[str, Callable],
        taken_ids: Callable[[], Iterable[str]],
        entry_point: str | None = None,
        fields: dict[str, str] | None = None,
        error: str = "",
    ) -> None:
        super().__init__()
        self.parent_label = parent_label
        self.choices = function_choices(functions, entry_point=entry_point)
        self.taken_ids = taken_ids
        self.fields = fields or {}
        self.error = error

    def compose_dialog(self) -> ComposeResult:
        first = next(iter(self.choices))
        if self.fields.get("function") in self.choices:
            first = self.fields["function"]
        options = [(name, name) for name in self.choices]
        fields = self.fields
        with VerticalScroll(can_focus=False, id="dialog", classes="form") as dialog:
            dialog.border_title = "Add a node"
            yield Static(Text(f"The new node runs after {self.parent_label}."))
            with Horizontal(classes="row"):
                yield Label("id")
                yield Input(fields.get("node-id", self._suggest(first)), id="node-id")
            with Horizontal(classes="row"):
                yield Label("function")
                yield MountSafeSelect(
                    options, value=first, allow_blank=False, id="function"
                )
            with Horizontal(classes="row"):
                yield Label("kwargs")
                yield Input(
                    fields.get("kwargs", "{}"),
                    placeholder="a Python dict literal",
                    id="kwargs",
                )
            with Horizontal(classes="row"):
                yield Label("forward")
                yield Input(
                    fields.get("forward", ""),
                    placeholder="none, AUTO or a parameter name",
                    id="forward",
                )
            with Horizontal(classes="row"):
                yield Label("timeout (s)")
                yield Input(
                    fields.get("timeout", "60"),
                    placeholder="empty: no limit",
                    id="timeout",
                )
            yield FormErrors(Text(self.error), id="errors", classes="errors")
            with Horizontal(classes="buttons"):
                yield Button("Add", variant="primary", id="add")
                yield Button("Cancel", id="cancel")

    def on_select_changed(self, event: Select.Changed) -> None:
        node_id = self.query_one("#node-id", Input)
        if node_id.value.strip() in self._suggestions():
            node_id.value = self._suggest(str(event.value))

    def submit(self) -> None:
        typed = {name: self.query_one(f"#{name}", Input).value for name in _TEXT_FIELDS}
        typed["function"] = str(self.query_one("#function", Select).value)
        request, errors = parse_add_form(
            node_id=typed["node-id"],
            taken_ids=self.taken_ids(),
            function=self.choices.get(typed["function"]),
            kwargs_text=typed["kwargs"],
            forward_text=typed["forward"],
            timeout_text=typed["timeout"],
        )
        for name in _TEXT_FIELDS:
            self.query_one(f"#{name}", Input).set_class(name in errors, "-invalid")
        labels = {"node-id": "id"}
        message = Text("\n".join(f"{labels.get(k, k)}: {v}" for k, v in errors.items()))
        shown = self.query_one("#errors", Static)
        shown.update(message)
        if request is not None:
            self.dismiss(replace(request, fields=typed))
        elif errors:
            shown.scroll_visible(animate=False)

    def _suggest(self, choice: str) -> str:
        return suggest_node_id(choice.split(" ")[0], self.taken_ids())

    def _suggestions(self) -> set[str]:
        return {self._suggest(choice) for choice in self.choices}
