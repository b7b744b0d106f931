"""Dynamic trees: node code that changes the graph while the run goes on.

Two independent parts run side by side.

Orders: `receive_order` forwards an order to two deciders.
`check_stock` disconnects `reorder_supplies` when the stock covers the order,
so that node never starts. `choose_shipping` starts with three children,
`ship_express`, `ship_freight` and `ship_pickup`, and calls `redirect([...])`
to keep only the one the order needs. Edit `ORDER` to change both decisions.

Crawler: `crawl /` fetches a page from a small in-memory site and, for each
link it has not seen yet, connects a new `crawl <link>` child while it is
still running. Those children start once their parent completes and discover
more pages in turn, so the tree grows as the run goes.

Try:
- Watch the edges from `choose_shipping` disappear and the crawl tree grow.
- Press f on `reorder_supplies`: the Log shows its edge from `check_stock`
  removed, and the Node panel shows why it never started.
- Press R (re-run paused), then s repeatedly, to see each new crawl node
  appear before it starts. While paused, press d on a waiting `crawl` node:
  the pages that only it would have discovered are never crawled.
"""

import asyncio

from grafo_core import Node, TreeExecutor

ORDER = {"sku": "apple", "quantity": 3, "weight_kg": 1.5, "urgent": True}
STOCK = {"apple": 10, "pear": 0}

SITE = {
    "/": ["/docs", "/blog", "/about"],
    "/docs": ["/docs/install", "/docs/api", "/"],
    "/blog": ["/blog/launch", "/docs"],
    "/about": [],
    "/docs/install": ["/docs/api"],
    "/docs/api": ["/docs/api/node", "/docs/api/executor"],
    "/blog/launch": ["/docs/install"],
    "/docs/api/node": [],
    "/docs/api/executor": ["/docs/api/node"],
}


async def receive_order() -> dict:
    await asyncio.sleep(0.3)
    return ORDER


async def reserve_items() -> str:
    await asyncio.sleep(0.4)
    return f"reserved {ORDER['quantity']} x {ORDER['sku']}"


async def reorder_supplies() -> str:
    await asyncio.sleep(0.4)
    return f"reordered {ORDER['sku']}"


async def ship_express() -> str:
    await asyncio.sleep(0.3)
    return "courier booked"


async def ship_freight() -> str:
    await asyncio.sleep(0.6)
    return "pallet booked"


async def ship_pickup() -> str:
    await asyncio.sleep(0.2)
    return "ready for pickup"


def make_crawler(url: str, seen: set[str]) -> Node:
    """Create a node that crawls `url` and connects one child per new link."""

    async def crawl() -> list[str]:
        await asyncio.sleep(0.2)  # fetching the page
        new_links = []
        for link in SITE[url]:
            if link in seen:
                continue
            seen.add(link)
            new_links.append(link)
            await asyncio.sleep(0.1)  # parsing up to the next link
            await node.connect(make_crawler(link, seen))
        return new_links

    node = Node(crawl, uuid=f"crawl {url}")
    return node


async def build() -> TreeExecutor:
    receive = Node(receive_order, uuid="receive_order")
    reserve = Node(reserve_items, uuid="reserve_items")
    reorder = Node(reorder_supplies, uuid="reorder_supplies")
    express = Node(ship_express, uuid="ship_express")
    freight = Node(ship_freight, uuid="ship_freight")
    pickup = Node(ship_pickup, uuid="ship_pickup")

    # The deciders are defined here so that their code can reach their own
    # node and its children.
    async def check_stock(order: dict) -> bool:
        await asyncio.sleep(0.3)
        covered = STOCK.get(order["sku"], 0) >= order["quantity"]
        if covered:
            await stock.disconnect(reorder)
        return covered

    async def choose_shipping(order: dict) -> str:
        await asyncio.sleep(0.5)
        if order["weight_kg"] > 20:
            choice, name = freight, "freight"
        elif order["urgent"]:
            choice, name = express, "express"
        else:
            choice, name = pickup, "pickup"
        await shipping.redirect([choice])
        return name

    stock = Node(check_stock, uuid="check_stock")
    shipping = Node(choose_shipping, uuid="choose_shipping")

    await receive.connect(stock, forward=Node.AUTO)
    await receive.connect(shipping, forward=Node.AUTO)
    await stock.connect(reserve)
    await stock.connect(reorder)
    for child in (express, freight, pickup):
        await shipping.connect(child)

    crawl_root = make_crawler("/", seen={"/"})
    return TreeExecutor(description="dynamic", roots=[receive, crawl_root])
