"""Outputs and errors that are hard to show: a repr that raises, a 10 MB repr,
an error whose str() raises, SystemExit and KeyboardInterrupt from nodes."""

from grafo_core import Node, TreeExecutor

HUGE = 10 * 1024 * 1024


class BadRepr:
    def __repr__(self):
        raise RuntimeError("repr refused")


class HugeRepr:
    def __repr__(self):
        return "h" * HUGE


class BadStrError(Exception):
    def __str__(self):
        raise RuntimeError("str refused")


async def bad_repr():
    return BadRepr()


async def huge_repr():
    return HugeRepr()


async def huge_string():
    return "s" * HUGE


async def bad_chunks():
    yield BadRepr()
    yield HugeRepr()
    yield "c" * HUGE


async def bad_str_error():
    raise BadStrError()


async def system_exit():
    raise SystemExit(3)


async def keyboard_interrupt():
    raise KeyboardInterrupt


def build():
    functions = [
        bad_repr,
        huge_repr,
        huge_string,
        bad_chunks,
        bad_str_error,
        system_exit,
        keyboard_interrupt,
    ]
    roots = [Node(function, uuid=function.__name__) for function in functions]
    return TreeExecutor(uuid="bad-values", roots=roots, stop_on_error=False)


def returns_only():
    functions = [
        bad_repr,
        huge_repr,
        huge_string,
        system_exit,
        keyboard_interrupt,
    ]
    roots = [Node(function, uuid=function.__name__) for function in functions]
    return TreeExecutor(uuid="bad-returns", roots=roots, stop_on_error=False)


def chunks_only():
    return Node(bad_chunks, uuid="bad_chunks")


def bad_str_only():
    return Node(bad_str_error, uuid="bad_str_error")
