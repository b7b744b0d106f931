"""A pipeline written for the grafo library, importing it by that name."""

import grafo
import grafo.errors
from grafo import Node, TreeExecutor
from grafo.errors import SafeExecutionError


async def answer():
    return 42


def build():
    marks = f"grafo={grafo.__name__} errors={SafeExecutionError.__module__}"
    return TreeExecutor(description=marks, roots=[Node(answer, uuid="answer")])
