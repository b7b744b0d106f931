"""Quickstart: three steps in a row, each passing its result to the next.

`fetch` downloads a page (simulated), `process` counts its words and `save`
writes the counts. Each edge uses `forward=Node.AUTO`: the parent's return
value goes to the child's only free parameter, so `process(page)` receives
the page and `save(counts)` receives the counts without naming them.

This is an ordinary script: `python demos/quickstart.py` runs it without the
app, and `grafo-tui demos/quickstart.py` shows every executor it runs.

Try:
- Watch each node go from waiting to running to succeeded. A node whose
  parents are done starts at once, so it is ready only while the run waits.
- Start it paused with `grafo-tui --paused demos/quickstart.py`, or press R
  once it has ended to run it again paused. No node starts until you press s,
  which starts one ready node at a time, or p, which resumes the run: then
  each node goes waiting -> ready -> running -> succeeded.
- Select `process`: the Node panel lists the page it received as `page`.
  Press f to filter the log to its events.
"""

import asyncio

from grafo_core import Node, TreeExecutor

PAGE = "the quick brown fox jumps over the lazy dog and the dog sleeps"


async def fetch(url: str) -> str:
    await asyncio.sleep(0.5)
    return PAGE


async def process(page: str) -> dict[str, int]:
    await asyncio.sleep(0.5)
    counts: dict[str, int] = {}
    for word in page.split():
        counts[word] = counts.get(word, 0) + 1
    return counts


async def save(counts: dict[str, int]) -> str:
    await asyncio.sleep(0.3)
    top = max(counts, key=counts.get)
    print(f"saved {len(counts)} distinct words; most common: {top!r}")
    return "saved"


async def main() -> None:
    fetch_node = Node(fetch, uuid="fetch", kwargs={"url": "https://example.com"})
    process_node = Node(process, uuid="process")
    save_node = Node(save, uuid="save")

    await fetch_node.connect(process_node, forward=Node.AUTO)
    await process_node.connect(save_node, forward=Node.AUTO)

    executor = TreeExecutor(description="quickstart", roots=[fetch_node])
    await executor.run()
    print(f"done with {len(executor.errors)} errors")


if __name__ == "__main__":
    asyncio.run(main())
