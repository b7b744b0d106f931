"""Type checks of the values that a typed `Node[T]` returns or yields."""

from __future__ import annotations

import logging
import types
import typing
from typing import TYPE_CHECKING, Any, TypeVar

from grafo_core.errors import MismatchChunkType

if TYPE_CHECKING:
    from grafo_core.node import Node

logger = logging.getLogger(__name__)


def _type_checker(node: Node[Any]) -> type | tuple[type, ...] | None:
    """Return what `isinstance` checks a typed node's values against, or `None`."""
    orig = node.__dict__.get("__orig_class__")
    if orig is None:
        return None
    args = typing.get_args(orig)
    if not args:
        return None
    expected = args[0]
    if expected is Any or isinstance(expected, TypeVar):
        return None
    origin = typing.get_origin(expected)
    if origin is not None and origin not in (typing.Union, types.UnionType):
        expected = origin
    try:
        isinstance(None, expected)
    except TypeError:
        logger.warning(
            "node %r: type %r does not work with isinstance; values go unchecked",
            node.uuid,
            expected,
        )
        return None
    return expected


def _mismatch(node: Node[Any], expected: Any, value: Any, verb: str) -> Exception:
    name = declared_type(node) or getattr(expected, "__name__", repr(expected))
    return MismatchChunkType(
        f"node {node.uuid!r} is typed Node[{name}] but {verb} a value of type "
        f"{type(value).__name__}: {value!r:.80}"
    )


def declared_type(node: Node[Any]) -> str:
    """Return the type a typed node's values are checked against, as written,
    or "" for an untyped node."""
    if node._checker is None:  # never typed: skip making a `__dict__`
        return ""
    args = typing.get_args(node.__dict__.get("__orig_class__"))
    if not args:
        return ""
    declared = args[0]
    if isinstance(declared, type) and not typing.get_args(declared):
        return class_name(declared)
    return repr(declared).replace("typing.", "")


def class_name(cls: type) -> str:
    """Return `cls`'s qualified name without the function it was defined in."""
    return cls.__qualname__.rpartition("<locals>.")[2]
