"""Lambda values in keyword arguments, and calls to a node's callback hooks."""

from __future__ import annotations

import inspect
import types
from typing import TYPE_CHECKING, Any

from grafo_core.errors import NotAsyncCallableError

if TYPE_CHECKING:
    from grafo_core.node import Node


def _is_lambda(value: object) -> bool:
    return isinstance(value, types.LambdaType) and value.__name__ == "<lambda>"


def has_lambda(values: dict[str, Any]) -> bool:
    """Return whether any value is a lambda, to be called before each run."""
    for value in values.values():
        if _is_lambda(value):
            return True
    return False


def _resolve_lambdas(values: dict[str, Any], owner: str, uuid: str) -> dict[str, Any]:
    """Return `values` with every lambda replaced by the result of calling it.

    `owner` and `uuid` name the source of the values in the note on an error.
    """
    if not has_lambda(values):
        return values
    resolved = {}
    for key, value in values.items():
        if _is_lambda(value):
            try:
                value = value()
            except Exception as exc:
                exc.add_note(
                    f"raised by the lambda for {key!r} in {owner} of node {uuid!r}"
                )
                raise
        resolved[key] = value
    return resolved


def _describe(function: object) -> str:
    name = getattr(function, "__qualname__", None) or repr(function)
    return f"{name} ({type(function).__name__})"


async def _call_hook(node: Node[Any], hook: Any, which: str) -> None:
    if not (isinstance(hook, tuple) and len(hook) == 2):
        raise TypeError(
            f"{which} of node {node.uuid!r} must be a (async_callback, kwargs) "
            f"tuple, got {hook!r}"
        )
    callback, fixed = hook
    if not inspect.iscoroutinefunction(callback):
        raise NotAsyncCallableError(
            f"{which} of node {node.uuid!r} must be an async def function, got "
            f"{_describe(callback)}"
        )
    try:
        await callback(**_resolve_lambdas(fixed or {}, f"{which}'s kwargs", node.uuid))
    except Exception as exc:
        exc.add_note(f"raised by {which} of node {node.uuid!r}")
        raise
