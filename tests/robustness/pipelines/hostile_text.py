"""Chunks, printed text, outputs and errors full of markup, escapes and odd Unicode.

Every string here must reach the screen literally: nothing is styled, linked
or sent to the terminal as a control sequence.
"""

from grafo_core import Node, TreeExecutor

LONG_LINE = "x" * 4000 + "END"

HOSTILE = [
    "[bold]not bold[/bold]",
    "[/]",
    "[link=https://example.invalid]not a link[/link]",
    "\x1b[31mnot red\x1b[0m",
    "bell\x07 nul\x00 back\x08 cr\r tab\t",
    "wide 漢字 and e\u0301 combining",
    LONG_LINE,
]

LABEL = "[red]node[/] \x1b[1m"


async def stream():
    for text in HOSTILE:
        print(text)
        yield text


async def answer():
    return "[bold]returned[/] \x1b[2J"


async def explode():
    raise ValueError("[/] broken \x1b[5m markup")


def build():
    return TreeExecutor(
        uuid="hostile",
        description="[b]hostile[/b]",
        roots=[
            Node(stream, uuid="stream"),
            Node(answer, uuid="answer"),
            Node(explode, uuid="explode"),
        ],
        stop_on_error=False,
    )


def hostile_label():
    return TreeExecutor(
        uuid="hostile-label",
        roots=[Node(answer, uuid=LABEL)],
    )
