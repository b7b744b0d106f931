"""Failures: one node raises, one times out, and their descendants never start.

Three branches start at once:

- `call_flaky_api` raises `ConnectionError` after 0.4 s. Its child
  `parse_response` and grandchild `store_result` never start.
- `run_slow_query` has `timeout=0.6` but needs 5 s, so it fails with
  `TimeoutError` at 0.6 s. Its child `draw_chart` never starts.
- `read_config` -> `warm_cache` -> `send_report` is healthy. `warm_cache` is
  already running when the first failure happens, so it is allowed to finish.
  But after a failure no new node starts anywhere, so `send_report` never
  starts either, although nothing above it failed.

`run()` still returns normally, and `executor.errors` contains both exceptions in
the order they happened. This demo fails on purpose: `grafo-tui --headless
demos/failures.py` exits with status 1.

Try:
- Select `call_flaky_api` to read its error.
- Select `run_slow_query` and compare its duration with its timeout.
- Press f on `warm_cache`: it started before the failure and still succeeded.
"""

import asyncio

from grafo_core import Node, TreeExecutor


async def call_flaky_api() -> dict:
    await asyncio.sleep(0.4)
    raise ConnectionError("api.example.com refused the connection")


async def parse_response(response: dict) -> list:
    return response["items"]


async def store_result(items: list) -> int:
    return len(items)


async def run_slow_query() -> list:
    await asyncio.sleep(5)
    return []


async def draw_chart(rows: list) -> str:
    return f"chart of {len(rows)} rows"


async def read_config() -> dict:
    await asyncio.sleep(0.2)
    return {"cache_size": 100}


async def warm_cache(config: dict) -> int:
    await asyncio.sleep(0.6)
    return config["cache_size"]


async def send_report(entries: int) -> str:
    return f"cache warmed with {entries} entries"


async def build() -> TreeExecutor:
    flaky = Node(call_flaky_api, uuid="call_flaky_api")
    parse = Node(parse_response, uuid="parse_response")
    store = Node(store_result, uuid="store_result")
    await flaky.connect(parse, forward=Node.AUTO)
    await parse.connect(store, forward=Node.AUTO)

    slow = Node(run_slow_query, uuid="run_slow_query", timeout=0.6)
    chart = Node(draw_chart, uuid="draw_chart")
    await slow.connect(chart, forward=Node.AUTO)

    config = Node(read_config, uuid="read_config")
    cache = Node(warm_cache, uuid="warm_cache")
    report = Node(send_report, uuid="send_report")
    await config.connect(cache, forward=Node.AUTO)
    await cache.connect(report, forward=Node.AUTO)

    return TreeExecutor(description="failures", roots=[flaky, slow, config])
