"""Nodes that print to stdout and stderr."""

import sys

from grafo_core import Node


async def talk():
    print("to stdout")
    print("to stderr", file=sys.stderr)
    sys.stdout.write("partial ")
    sys.stdout.write("line\n")
    return "talked"


def build():
    return Node(talk, uuid="talk")
