"""Builders of each accepted kind, and some that grafo-tui rejects."""

from grafo_core import Node, TreeExecutor


async def double(value=21):
    return value * 2


async def square(value=3):
    return value * value


def sync_executor():
    return TreeExecutor(description="from sync_executor", roots=[Node(double)])


async def async_node_list():
    return [Node(double, uuid="double"), Node(square, uuid="square")]


def single_node():
    return Node(square, uuid="square")


def wrong_type():
    return 42


def list_with_wrong_item():
    return [Node(double), "not a node"]


def needs_arguments(depth):
    return Node(double)


async def node_body():
    yield 1


NOT_A_FUNCTION = 7
