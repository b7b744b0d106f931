"""Exceptions raised by `grafo_core`, with the names the Grafo API uses."""


class SafeExecutionError(RuntimeError):
    """An attribute of a node was assigned while that node was running."""


class NotAsyncCallableError(TypeError):
    """A callable that must be an `async def` function (or async generator
    function) is not one, or an output property does not fit the node's kind."""


class ForwardingOverrideError(ValueError):
    """A forwarding rule targets a parameter already set in the child's kwargs."""


class ForwardingParameterError(ValueError):
    """A forwarding rule targets a parameter the child's function does not take."""


class AutoForwardError(ValueError):
    """`Node.AUTO` found no parameter, or more than one, to forward into."""


class MismatchChunkType(TypeError):
    """A typed node `Node[T]` produced a value that is not an instance of `T`."""


class InjectedFault(RuntimeError):
    """The failure that `TreeExecutor.inject_fault` asked a node's next run for."""


class NodeTimeoutError(TimeoutError):
    """The error of a node's run that took longer than its `timeout`. As a
    `TimeoutError`, it is caught by `except TimeoutError` too."""
