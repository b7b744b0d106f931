"""`Node`: one asynchronous task in a tree, with its edges and forwarding rules."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid as uuid_module
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from grafo_core._callables import _call_hook, _describe, _resolve_lambdas
from grafo_core._forwarding import (
    AUTO,
    ForwardRule,
    _Auto,
    _forward_rule,
    _forward_target,
)
from grafo_core._live import runs_holding
from grafo_core._type_check import _mismatch, _type_checker
from grafo_core.chunk import Chunk
from grafo_core.errors import (
    InjectedFault,
    NodeTimeoutError,
    NotAsyncCallableError,
    SafeExecutionError,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

Hook = tuple[Callable[..., Any], dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class Metadata:
    """Timing and depth of a node.

    Attributes:
        runtime: Duration of the node's last run, in seconds.
        level: Depth in the tree: 0 for roots, at least parent + 1 for a child.
    """

    runtime: float
    level: int


UNRESOLVED = object()
"""`Node._checker` of a typed node before its first run read the type argument."""


_SLOTS = (
    "coroutine",
    "kwargs",
    "uuid",
    "timeout",
    "on_connect",
    "on_disconnect",
    "on_before_run",
    "on_after_run",
    "_uuid_given",
    "_is_generator",
    "_children",
    "_parents",
    "_forward",
    "_output",
    "_aggregated",
    "_runtime",
    "_level",
    "_running",
    "_checker",
    "_bare",
    "_generator",
)


class Node(Generic[T]):
    """An async function or async generator function, run as part of a tree.

    Args:
        coroutine: An `async def` function or an async generator function.
        kwargs: Keyword arguments for `coroutine`. A lambda value is called
            with no arguments just before each run, and its result is passed.
        uuid: The node's id; a random UUID4 string when omitted.
        timeout: Seconds one run may take, or `None` for no limit.
        on_connect: ``(async_callback, fixed_kwargs)`` awaited by `connect`.
        on_disconnect: ``(async_callback, fixed_kwargs)`` awaited by `disconnect`.
        on_before_run: ``(async_callback, fixed_kwargs)`` awaited before a run.
        on_after_run: ``(async_callback, fixed_kwargs)`` awaited after a
            successful run, once the output was forwarded.

    Raises:
        NotAsyncCallableError: `coroutine` is not an async function.
        TypeError: `kwargs` is not a dict or `timeout` is not a number.
        ValueError: `timeout` is negative.
    """

    AUTO = AUTO

    # Slots keep a node's attributes side by side in memory, because the
    # scheduler reads about a dozen of them per node. From a 20-entry
    # instance dictionary many reads missed the CPU cache, which cost about
    # 0.1x of the floor on the engine benchmark's DAG (measured).
    # `__dict__` stays for `__orig_class__`, which `Node[T](...)` sets, and
    # for attributes that users add.
    __slots__ = (*_SLOTS, "__dict__", "__weakref__")

    def __init__(
        self,
        coroutine: Callable[..., Any],
        kwargs: dict[str, Any] | None = None,
        uuid: str | None = None,
        timeout: float | None = 60.0,
        on_connect: Hook | None = None,
        on_disconnect: Hook | None = None,
        on_before_run: Hook | None = None,
        on_after_run: Hook | None = None,
    ) -> None:
        if inspect.iscoroutinefunction(coroutine):
            is_generator = False
        elif inspect.isasyncgenfunction(coroutine):
            is_generator = True
        else:
            raise NotAsyncCallableError(
                f"Node needs an async def function or an async generator function, "
                f"got {_describe(coroutine)}; define it with 'async def'"
            )
        if kwargs is None:
            kwargs = {}
        elif not isinstance(kwargs, dict):
            raise TypeError(
                f"Node kwargs must be a dict, got {type(kwargs).__name__}: {kwargs!r}"
            )
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, int | float):
                raise TypeError(
                    f"Node timeout must be a number of seconds or None, got {timeout!r}"
                )
            if timeout < 0:
                raise ValueError(
                    f"Node timeout must be 0 or more seconds, got {timeout!r}"
                )
        # The slots' own setters skip the checks in __setattr__, which a new
        # node does not need, and any property a subclass puts in a slot's
        # place.
        for setter, value in zip(
            _SLOT_SETTERS,
            (
                coroutine,
                kwargs,
                str(uuid) if uuid is not None else str(uuid_module.uuid4()),
                timeout,
                on_connect,
                on_disconnect,
                on_before_run,
                on_after_run,
                uuid is not None,  # _uuid_given
                is_generator,
                [],  # _children
                [],  # _parents
                {},  # _forward
                None,  # _output
                # Only a generator node aggregates; others skip the list.
                [] if is_generator else None,  # _aggregated
                0.0,  # _runtime
                0,  # _level
                0,  # _running
                # `Node[T](...)` sets `__orig_class__` after __init__; until
                # then the node is untyped and needs no check.
                None,  # _checker
                not is_generator and on_before_run is None and on_after_run is None,
                None,  # _generator
            ),
            strict=True,
        ):
            setter(self, value)

    def __setstate__(self, state: Any) -> None:
        """Restore a copied or unpickled node: its slots are set directly,
        since the running check in __setattr__ reads slots not set yet."""
        attributes, slots = state if isinstance(state, tuple) else (state, None)
        if attributes:
            vars(self).update(attributes)
        for name, value in (slots or {}).items():
            setter = _SLOT_SETTER_OF.get(name)
            if setter is None:  # a slot of a subclass
                object.__setattr__(self, name, value)
            else:
                setter(self, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_") and self.is_running:
            raise SafeExecutionError(
                f"cannot set {name!r} on node {self.uuid!r} while it is running; "
                "set it before the run starts or after the node finishes"
            )
        object.__setattr__(self, name, value)
        if name == "__orig_class__":
            object.__setattr__(self, "_checker", UNRESOLVED)
            self._update_bare()
        elif name in ("on_before_run", "on_after_run"):
            self._update_bare()

    def _update_bare(self) -> None:
        """Note whether a run can be the bare coroutine call: no generator,
        forwarding, `on_before_run`, `on_after_run` or type check."""
        object.__setattr__(
            self,
            "_bare",
            not self._is_generator
            and not self._forward
            and self.on_before_run is None
            and self.on_after_run is None
            and self._checker is None,
        )

    def __repr__(self) -> str:
        state = "running" if self.is_running else "idle"
        return f"Node(uuid={self.uuid!r}, level={self._level}, {state})"

    @property
    def label(self) -> str:
        """A readable name: the uuid if one was given, else the function name
        followed by the uuid's first 8 characters."""
        if self._uuid_given:
            return self.uuid
        name = getattr(self.coroutine, "__name__", "node")
        return f"{name}-{self.uuid[:8]}"

    @property
    def output(self) -> Any:
        """The return value of the last successful run, `None` before any."""
        if self._is_generator:
            raise NotAsyncCallableError(
                f"node {self.uuid!r} runs an async generator, so it has no single "
                "output; read aggregated_output instead"
            )
        return self._output

    @property
    def aggregated_output(self) -> list[Any]:
        """Every value yielded in the last run of an async-generator node."""
        if not self._is_generator:
            raise NotAsyncCallableError(
                f"node {self.uuid!r} runs a plain coroutine, so it yields nothing; "
                "read output instead"
            )
        return self._aggregated

    @property
    def metadata(self) -> Metadata:
        """The node's last runtime and its level."""
        return Metadata(runtime=self._runtime, level=self._level)

    @property
    def children(self) -> list[Node[Any]]:
        """The child nodes, in connection order (a copy)."""
        return list(self._children)

    @property
    def parents(self) -> list[Node[Any]]:
        """The parent nodes, in connection order (a copy)."""
        return list(self._parents)

    @property
    def is_running(self) -> bool:
        """Whether a run of this node is in progress."""
        # `_running` counts runs through `execute`; an executor that calls
        # the coroutine bare records the node as running in its own state.
        if self._running:
            return True
        return any(run.is_running(self) for run in runs_holding(self))

    # -- edges ---------------------------------------------------------------

    async def connect(
        self,
        child: Node[Any],
        *,
        forward: str | _Auto | None = None,
        on_before_forward: Callable[..., Any] | Hook | None = None,
    ) -> None:
        """Add the edge `self -> child`, optionally forwarding this node's output.

        Args:
            child: The node to run after this one.
            forward: `None` to pass no data, a parameter name of the child, or
                `Node.AUTO` to pick the child's only free parameter.
            on_before_forward: An async callback, or ``(callback, fixed_kwargs)``,
                that transforms the output before it is written to the child.

        Raises:
            TypeError: `child` is not a Node or `forward` has another type.
            AutoForwardError: AUTO found zero or several candidate parameters.
            ForwardingOverrideError: The parameter is already in `child.kwargs`.
            ForwardingParameterError: The child's function lacks the parameter.
        """
        if not isinstance(child, Node):
            raise TypeError(
                f"connect() needs a Node as child, got {type(child).__name__}: "
                f"{child!r}; wrap the function in Node(...) first"
            )
        rule = None
        if forward is not None:
            name = _forward_target(self, child, forward)
            rule = _forward_rule(self, child, name, on_before_forward)
        elif on_before_forward is not None:
            raise TypeError(
                f"on_before_forward on edge {self.uuid!r} -> {child.uuid!r} needs "
                "a forward= parameter name or Node.AUTO"
            )
        for run in runs_holding(self):
            run.check_can_link(child)
        self._link(child, rule)
        if self.on_connect is not None:
            try:
                await _call_hook(self, self.on_connect, "on_connect")
            except BaseException:
                # connect() did not complete, so the edge does not stay, nor
                # a node that the edge brought into a run.
                if child in self._children:
                    self._unlink(child)
                    for run in runs_holding(child):
                        run.drop_if_cut_off(child)
                raise

    async def disconnect(self, child: Node[Any]) -> None:
        """Remove the edge `self -> child` and its forwarding rule.

        A node that is not a child is logged as a warning and left alone.
        """
        if child not in self._children:
            logger.warning(
                "disconnect ignored: %r is not a child of node %r",
                getattr(child, "uuid", child),
                self.uuid,
            )
            return
        self._unlink(child)
        if self.on_disconnect is not None:
            await _call_hook(self, self.on_disconnect, "on_disconnect")

    async def redirect(self, targets: list[Node[Any]]) -> None:
        """Disconnect every child, then connect each of `targets` without forwarding."""
        for child in list(self._children):
            await self.disconnect(child)
        for target in targets:
            await self.connect(target)

    def _link(self, child: Node[Any], rule: ForwardRule | None) -> None:
        # A child has few parents while a parent may have thousands of
        # children, so the edge is looked up on the child's side.
        if self in child._parents:
            logger.debug("edge %r -> %r exists; its rule is replaced", self, child)
        else:
            self._children.append(child)
            child._parents.append(self)
        if rule is not None:
            self._forward[child] = rule
            self._update_bare()
        elif self._forward and self._forward.pop(child, None) is not None:
            self._update_bare()
        if child._level < self._level + 1:
            object.__setattr__(child, "_level", self._level + 1)
        for run in runs_holding(self):
            run.on_edge_added(self, child, rule.name if rule else None)

    def _unlink(self, child: Node[Any]) -> None:
        self._children.remove(child)
        child._parents.remove(self)
        self._forward.pop(child, None)
        self._update_bare()
        for run in runs_holding(self):
            run.on_edge_removed(self, child)

    # -- running -------------------------------------------------------------

    async def run(self) -> Any:
        """Run this node once on its own: callbacks, coroutine, type check and
        forwarding to its children. Returns the output (for an async-generator
        node, the aggregated list)."""
        return await self.execute(None)

    async def run_yielding(self) -> AsyncIterator[Chunk[Any]]:
        """Run an async-generator node once on its own, yielding each `Chunk`."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        end = object()
        task = asyncio.ensure_future(self.execute(queue.put_nowait))
        task.add_done_callback(lambda _: queue.put_nowait(end))
        try:
            while (item := await queue.get()) is not end:
                yield item
            await task
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait({task})

    async def execute(
        self,
        on_chunk: Callable[[Chunk[Any]], Any] | None,
        on_call: Callable[[dict[str, Any]], Any] | None = None,
        *,
        fault: tuple[float, str | None] | None = None,
        timed: bool = True,
    ) -> Any:
        """Run once: `on_before_run`, the coroutine under the timeout, the type
        check, forwarding and `on_after_run`.

        `on_call` gets the keyword arguments, lambdas evaluated, just before
        the coroutine is called; `on_chunk` gets each `Chunk`. `fault` is
        ``(extra_seconds, error_message_or_None)``: the run first sleeps the
        extra seconds, then raises `InjectedFault`. With ``timed=False`` the
        caller enforces `timeout` itself (a `TreeExecutor` run does).
        """
        set_ = object.__setattr__
        set_(self, "_running", self._running + 1)
        started = time.monotonic()
        try:
            if self.on_before_run is not None:
                await _call_hook(self, self.on_before_run, "on_before_run")
            kwargs = _resolve_lambdas(self.kwargs, "kwargs", self.uuid)
            if on_call is not None:
                on_call(kwargs)
            self.resolve_checker()
            timeout = self.timeout
            if timeout is None or not timed:
                output = await self._call(kwargs, on_chunk, fault)
            else:
                try:
                    async with asyncio.timeout(timeout) as scope:
                        output = await self._call(kwargs, on_chunk, fault)
                except TimeoutError as exc:
                    if not scope.expired():
                        raise
                    raise NodeTimeoutError(
                        f"node {self.uuid!r} timed out after {timeout} s"
                    ) from exc
            if self._forward:
                await self._forward_output(output)
            if self.on_after_run is not None:
                await _call_hook(self, self.on_after_run, "on_after_run")
            return output
        finally:
            set_(self, "_runtime", time.monotonic() - started)
            set_(self, "_running", self._running - 1)

    def resolve_checker(self) -> None:
        """Read the type argument of a `Node[T]` once; it is set after __init__."""
        if self._checker is UNRESOLVED:
            object.__setattr__(self, "_checker", _type_checker(self))
            self._update_bare()

    async def _call(
        self,
        kwargs: dict[str, Any],
        on_chunk: Callable[[Chunk[Any]], Any] | None,
        fault: tuple[float, str | None] | None,
    ) -> Any:
        if fault is not None:
            delay, message = fault
            if delay:
                await asyncio.sleep(delay)
            if message is not None:
                raise InjectedFault(f"node {self.uuid!r}: {message}")
        checker = self._checker
        if not self._is_generator:
            output = await self.coroutine(**kwargs)
            if checker is not None and not isinstance(output, checker):
                raise _mismatch(self, checker, output, "returned")
            object.__setattr__(self, "_output", output)
            return output

        items: list[Any] = []
        object.__setattr__(self, "_aggregated", items)
        uuid = self.uuid
        generator = self.coroutine(**kwargs)
        object.__setattr__(self, "_generator", generator)
        try:
            async for value in generator:
                if type(value) is Chunk or isinstance(value, Chunk):
                    chunk = value
                else:
                    chunk = Chunk(uuid, value)
                if checker is not None and not isinstance(chunk.output, checker):
                    raise _mismatch(self, checker, chunk.output, "yielded")
                items.append(value)
                if on_chunk is not None:
                    on_chunk(chunk)
        finally:
            object.__setattr__(self, "_generator", None)
            await generator.aclose()
        return items

    async def _forward_output(self, output: Any) -> None:
        for child, rule in list(self._forward.items()):
            await self._forward_to(child, rule, output)

    async def _forward_to(
        self, child: Node[Any], rule: ForwardRule, value: Any
    ) -> None:
        """Write `value`, through the edge's transform if it has one, into
        the child's parameter."""
        if rule.transform is not None:
            fixed = _resolve_lambdas(
                rule.transform_kwargs or {}, "on_before_forward's kwargs", self.uuid
            )
            try:
                if rule.positional:
                    value = await rule.transform(value, **fixed)
                else:
                    value = await rule.transform(forward_data=value, **fixed)
            except Exception as exc:
                exc.add_note(
                    f"raised by on_before_forward of the edge "
                    f"{self.uuid!r} -> {child.uuid!r}"
                )
                raise
        child.kwargs[rule.name] = value

    def _last_result(self) -> Any:
        """Return what the last run forwarded: the output, or for an
        async-generator node the aggregated list."""
        return self._aggregated if self._is_generator else self._output


_SLOT_SETTERS = tuple(vars(Node)[name].__set__ for name in _SLOTS)
_SLOT_SETTER_OF = dict(zip(_SLOTS, _SLOT_SETTERS, strict=True))
