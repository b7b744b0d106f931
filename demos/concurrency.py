"""Concurrency: the same five half-second tasks, arranged three ways.

Every task sleeps 0.5 s with `asyncio.sleep`, which gives the event loop back
while it waits. The arrangement alone decides how long the work takes:

- chain: task 1 -> task 2 -> ... -> task 5. Each waits for its parent, so the
  run takes about 5 x 0.5 = 2.5 s.
- fan-out: `start` has the five tasks as children. They all run at once, so
  the run takes about 0.5 s.
- limited: the same fan-out with `executor.max_workers = 2`. At most two nodes
  run at a time, so the tasks go in rounds of 2, 2 and 1: about 1.5 s.

Run as a script (`grafo-tui demos/concurrency.py`), it runs the three
executors one after another and prints how long each took, so you can compare
them in one go. To watch one of them alone, load it by name, for example
`grafo-tui demos/concurrency.py:build_limited`.

Try:
- In the limited run, watch three tasks stay ready while two run.
- Press p during the fan-out, then s: each s starts one ready task.
- Load `:build_chain` and press c on task 3: tasks 4 and 5 never start.
"""

import asyncio
import time
from itertools import pairwise

from grafo_core import Node, TreeExecutor

TASK_COUNT = 5


async def task(number: int) -> int:
    await asyncio.sleep(0.5)
    return number


async def start() -> None:
    return None


def make_tasks() -> list[Node]:
    return [
        Node(task, uuid=f"task {number}", kwargs={"number": number})
        for number in range(1, TASK_COUNT + 1)
    ]


async def build_chain() -> TreeExecutor:
    tasks = make_tasks()
    for parent, child in pairwise(tasks):
        await parent.connect(child)
    return TreeExecutor(description="chain", roots=[tasks[0]])


async def make_fan_out() -> Node:
    root = Node(start, uuid="start")
    for child in make_tasks():
        await root.connect(child)
    return root


async def build_fan_out() -> TreeExecutor:
    return TreeExecutor(description="fan-out", roots=[await make_fan_out()])


async def build_limited() -> TreeExecutor:
    root = await make_fan_out()
    executor = TreeExecutor(description="fan-out, max_workers=2", roots=[root])
    executor.max_workers = 2
    return executor


async def main() -> None:
    for build_executor in (build_chain, build_fan_out, build_limited):
        executor = await build_executor()
        began = time.perf_counter()
        await executor.run()
        elapsed = time.perf_counter() - began
        print(f"{executor.description}: {elapsed:.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
