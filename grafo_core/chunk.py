"""The value type that async-generator nodes produce."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


# Not slotted: `Chunk[int](...)` sets `__orig_class__` on the new instance, and
# on Python 3.11 typing only tolerates a failure there when it is an
# AttributeError, which a frozen dataclass without slots raises.
@dataclass(frozen=True)
class Chunk(Generic[T]):
    """One value yielded by an async-generator node.

    Attributes:
        uuid: The uuid of the node that yielded the value.
        output: The yielded value.
    """

    uuid: str
    output: T
