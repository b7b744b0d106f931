"""ETL: fan-out from three sources, fan-in at a merge, then one load step.

Three sources run at once, each with its own transform. The transforms feed
one `merge` node through named forwarding (`forward="orders"`, ...), so
`merge` starts only after all three have completed and receives each value
under its own parameter name. The customers edge also has an
`on_before_forward` callback that turns the list of customers into a dict keyed
by id before `merge` sees it. `load` gets the merged report with
`forward=Node.AUTO`.

Try:
- Watch `merge` stay waiting until the slowest transform completes.
- Select `merge`: its kwargs in the Node panel are `orders`, `customers` and
  `stock`, and `customers` is already a dict.
- Press c on `read_stock` while it runs: `merge` and `load` never start.
- Press a to add another node under `merge`; it starts once `merge` completes.
"""

import asyncio

from grafo_core import Node, TreeExecutor

RAW_ORDERS = [
    {"id": 1, "customer": "c1", "sku": "apple", "qty": "3"},
    {"id": 2, "customer": "c2", "sku": "pear", "qty": "1"},
    {"id": 3, "customer": "c1", "sku": "plum", "qty": "x"},
    {"id": 4, "customer": "c3", "sku": "apple", "qty": "2"},
]
RAW_CUSTOMERS = [
    {"id": "c1", "name": " Ada "},
    {"id": "c2", "name": "grace"},
    {"id": "c3", "name": "LINUS"},
]
RAW_STOCK = "apple=10;pear=0;plum=4"


async def read_orders() -> list[dict]:
    await asyncio.sleep(0.4)
    return RAW_ORDERS


async def read_customers() -> list[dict]:
    await asyncio.sleep(0.7)
    return RAW_CUSTOMERS


async def read_stock() -> str:
    await asyncio.sleep(1.0)
    return RAW_STOCK


async def clean_orders(rows: list[dict]) -> list[dict]:
    """Drop orders whose quantity is not a number."""
    await asyncio.sleep(0.3)
    return [{**row, "qty": int(row["qty"])} for row in rows if row["qty"].isdigit()]


async def clean_customers(rows: list[dict]) -> list[dict]:
    await asyncio.sleep(0.2)
    return [{**row, "name": row["name"].strip().title()} for row in rows]


async def parse_stock(text: str) -> dict[str, int]:
    await asyncio.sleep(0.2)
    pairs = (item.split("=") for item in text.split(";"))
    return {sku: int(count) for sku, count in pairs}


async def index_by_id(rows: list[dict]) -> dict[str, dict]:
    """Turn a list of rows into a dict keyed by each row's id."""
    return {row["id"]: row for row in rows}


async def merge(
    orders: list[dict], customers: dict[str, dict], stock: dict[str, int]
) -> list[str]:
    await asyncio.sleep(0.3)
    report = []
    for order in orders:
        name = customers[order["customer"]]["name"]
        status = "ok" if stock.get(order["sku"], 0) >= order["qty"] else "backorder"
        report.append(
            f"order {order['id']}: {name} x{order['qty']} {order['sku']} {status}"
        )
    return report


async def load(report: list[str]) -> int:
    await asyncio.sleep(0.2)
    for line in report:
        print(line)
    return len(report)


async def build() -> TreeExecutor:
    orders = Node(read_orders, uuid="read_orders")
    customers = Node(read_customers, uuid="read_customers")
    stock = Node(read_stock, uuid="read_stock")
    orders_clean = Node(clean_orders, uuid="clean_orders")
    customers_clean = Node(clean_customers, uuid="clean_customers")
    stock_parsed = Node(parse_stock, uuid="parse_stock")
    merged = Node(merge, uuid="merge")
    loaded = Node(load, uuid="load")

    # Fan-out: each source feeds its own transform.
    await orders.connect(orders_clean, forward=Node.AUTO)
    await customers.connect(customers_clean, forward=Node.AUTO)
    await stock.connect(stock_parsed, forward=Node.AUTO)

    # Fan-in: merge has three parameters, so each edge names the one it fills.
    await orders_clean.connect(merged, forward="orders")
    await customers_clean.connect(
        merged, forward="customers", on_before_forward=index_by_id
    )
    await stock_parsed.connect(merged, forward="stock")

    await merged.connect(loaded, forward=Node.AUTO)
    return TreeExecutor(description="etl", roots=[orders, customers, stock])
