"""Forwarding rules of edges, which write a parent's output into a child's parameter."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from grafo_core._callables import _describe
from grafo_core.errors import (
    AutoForwardError,
    ForwardingOverrideError,
    ForwardingParameterError,
    NotAsyncCallableError,
)

if TYPE_CHECKING:
    from grafo_core.node import Node


class _Auto:
    """Type of the `Node.AUTO` sentinel."""

    def __repr__(self) -> str:
        return "Node.AUTO"


AUTO = _Auto()


@dataclass(slots=True)
class ForwardRule:
    """Forwarding rule of one edge: the child's parameter and an optional transform."""

    name: str
    transform: Callable[..., Any] | None = None
    transform_kwargs: dict[str, Any] | None = None
    positional: bool = True


def auto_forward_candidates(
    function: Callable[..., Any], kwargs: Mapping[str, Any]
) -> list[str]:
    """Return the parameters of `function` that `Node.AUTO` could forward
    into: the named ones, with or without a default, that `kwargs` does not
    set, nor a `functools.partial` around it. AUTO works when there is
    exactly one."""
    bound = function.keywords if isinstance(function, functools.partial) else {}
    return [
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and p.name not in kwargs
        and p.name not in bound
    ]


def function_name(function: Callable[..., Any]) -> str:
    """Return a function's qualified name for messages, also for a partial."""
    name = getattr(function, "__qualname__", None)
    if isinstance(name, str):
        return name
    if isinstance(function, functools.partial):
        return f"functools.partial({function_name(function.func)})"
    return repr(function)


def _forward_target(parent: Node[Any], child: Node[Any], forward: object) -> str:
    """Check a `forward=` value against the child's signature; return the name."""
    if not (forward is AUTO or isinstance(forward, str)):
        raise TypeError(
            f"forward must be None, a parameter name or Node.AUTO, got {forward!r}"
        )
    parameters = inspect.signature(child.coroutine).parameters.values()
    if forward is AUTO:
        candidates = auto_forward_candidates(child.coroutine, child.kwargs)
        if len(candidates) != 1:
            function = function_name(child.coroutine)
            edge = f"Node.AUTO on edge {parent.uuid!r} -> {child.uuid!r}"
            if not candidates:
                raise AutoForwardError(
                    f"{edge} needs exactly one free parameter in {function}, which "
                    "has none to receive the output; connect without forward=, or "
                    "give the function a parameter for it"
                )
            names = ", ".join(candidates)
            raise AutoForwardError(
                f"{edge} needs exactly one free parameter in {function}, found "
                f"{len(candidates)} ({names}); pass one of them as forward="
                f"{candidates[0]!r}, or set the others in kwargs"
            )
        return candidates[0]
    if forward in child.kwargs:
        raise ForwardingOverrideError(
            f"cannot forward {parent.uuid!r} into {forward!r} of node {child.uuid!r}: "
            f"kwargs already sets {forward!r}; remove it from kwargs or forward "
            "into another parameter"
        )
    by_name = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    names = {p.name for p in parameters if p.kind in by_name}
    positional = {p.name for p in parameters if p.kind is p.POSITIONAL_ONLY}
    function = function_name(child.coroutine)
    if forward in positional:
        raise ForwardingParameterError(
            f"cannot forward into {forward!r}: it is a positional-only parameter "
            f"of {function} in node {child.uuid!r}, and forwarding passes values "
            "by name; forward into another parameter or drop the '/' from the "
            "signature"
        )
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters)
    if forward not in names and not takes_any:
        raise ForwardingParameterError(
            f"cannot forward into {forward!r}: {function} of node {child.uuid!r} "
            f"takes {', '.join(sorted(names)) or 'no parameters by name'}"
        )
    return forward


def _forward_rule(
    parent: Node[Any], child: Node[Any], name: str, transform: object
) -> ForwardRule:
    if transform is None:
        return ForwardRule(name)
    fixed = None
    if isinstance(transform, tuple):
        if len(transform) != 2:
            raise TypeError(
                "on_before_forward must be an async callback or a "
                f"(callback, kwargs) tuple, got {transform!r}"
            )
        transform, fixed = transform
    if not inspect.iscoroutinefunction(transform):
        raise NotAsyncCallableError(
            f"on_before_forward on edge {parent.uuid!r} -> {child.uuid!r} must be "
            f"an async def function, got {_describe(transform)}"
        )
    parameters = list(inspect.signature(transform).parameters.values())
    positional = any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        for p in parameters
    )
    if not positional and not any(
        p.name == "forward_data" and p.kind is p.KEYWORD_ONLY for p in parameters
    ):
        raise TypeError(
            f"on_before_forward {function_name(transform)} on edge {parent.uuid!r} -> "
            f"{child.uuid!r} must take the value as its first positional parameter "
            "or as the keyword-only parameter forward_data"
        )
    return ForwardRule(name, transform, fixed, positional)
