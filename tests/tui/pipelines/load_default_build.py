"""A file with a top-level build(), loaded without a NAME."""

from grafo_core import Node


async def hello():
    return "hello"


def build():
    return Node(hello, uuid="hello")


if __name__ == "__main__":
    raise SystemExit("script mode must not run for a file with build()")
