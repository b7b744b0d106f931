"""Grafo compatibility: a program written for the Grafo library, unchanged.

This file imports `from grafo import Node, TreeExecutor`, as a Grafo user
writes it. When grafo-tui loads a file, `grafo` resolves to `grafo_core`, so
the same code runs and the app shows its tree. It uses several Grafo
features:

- manual forwarding: a lambda in `kwargs` is called just before the node runs,
  so `greet` reads `load_user`'s output at that moment;
- named forwarding (`forward="text"`) and a typed node `Node[int](...)`, whose
  return value must be an `int`;
- an `on_after_run` callback given as a `(callback, kwargs)` tuple;
- `executor.yielding()`, which delivers each node as soon as it completes.

Try:
- Watch for the notice saying that `grafo` was resolved to `grafo_core`.
- Select `greet`: its kwargs in the Node panel show the name that the lambda
  returned.
- Make `count_letters` return `str(len(...))`: the typed node fails with
  `MismatchChunkType`.
"""

import asyncio

from grafo import Node, TreeExecutor


async def load_user(user_id: int) -> dict:
    await asyncio.sleep(0.3)
    return {"id": user_id, "name": "Ada"}


async def greet(name: str) -> str:
    await asyncio.sleep(0.2)
    return f"Hello, {name}!"


async def count_letters(text: str) -> int:
    await asyncio.sleep(0.1)
    return sum(character.isalpha() for character in text)


async def report_done(step: str) -> None:
    print(f"{step} finished")


async def main() -> None:
    user = Node(
        load_user,
        uuid="load_user",
        kwargs=dict(user_id=1),
        on_after_run=(report_done, dict(step="load_user")),
    )
    greeting = Node(greet, uuid="greet", kwargs=dict(name=lambda: user.output["name"]))
    letters = Node[int](count_letters, uuid="count_letters")

    await user.connect(greeting)
    await greeting.connect(letters, forward="text")

    executor = TreeExecutor(description="grafo compatibility", roots=[user])
    async for item in executor.yielding():
        print(f"completed {item.uuid}")
    print(f"{letters.output} letters in {greeting.output!r}")


if __name__ == "__main__":
    asyncio.run(main())
