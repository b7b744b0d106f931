"""Cycle: a retry loop made by connecting back to an earlier node.

`call_service` calls a service (simulated) that returns status 503 until the
third attempt. `check_reply` receives each reply. While the reply is an error,
it sets the next attempt number in `call_service.kwargs` and connects
`call_service` as its own child. That closes a cycle: when `check_reply`
completes, its child `call_service` runs again, which in turn runs
`check_reply` again.

Once the reply is good, `check_reply` disconnects the back edge, so the loop
ends, and connects `save_reply`, which then runs once with the good reply.
After `MAX_ATTEMPTS` errors it raises instead, and the run ends with that
failure.

Try:
- Watch the back edge appear, the run counts of both nodes go up, and the
  edge disappear on success.
- Select `call_service` while the loop runs: its kwargs show the attempt
  number.
- Set `SUCCEEDS_ON_ATTEMPT = 9` and start the demo again to see the loop give
  up.
- Press p during the loop, then s to step one attempt at a time.
"""

import asyncio

from grafo_core import Node, TreeExecutor

SUCCEEDS_ON_ATTEMPT = 3
MAX_ATTEMPTS = 5


async def call_service(attempt: int) -> dict:
    await asyncio.sleep(0.3)
    status = 200 if attempt >= SUCCEEDS_ON_ATTEMPT else 503
    return {"attempt": attempt, "status": status}


async def save_reply(reply: dict) -> str:
    await asyncio.sleep(0.2)
    message = f"saved the reply of attempt {reply['attempt']}"
    print(message)
    return message


async def build() -> TreeExecutor:
    call = Node(call_service, uuid="call_service", kwargs={"attempt": 1})
    save = Node(save_reply, uuid="save_reply")

    # Defined here so that its code can reach its own node and the others.
    async def check_reply(reply: dict) -> dict:
        if reply["status"] == 200:
            if call in check.children:
                await check.disconnect(call)
            # The reply is written directly rather than forwarded: `check_reply`
            # has completed before in this run, so the engine may start
            # `save_reply` as soon as it is connected, before this run returns.
            save.kwargs["reply"] = reply
            await check.connect(save)
            return reply

        if reply["attempt"] >= MAX_ATTEMPTS:
            raise RuntimeError(f"service still failing after {MAX_ATTEMPTS} attempts")
        print(f"attempt {reply['attempt']} got {reply['status']}, retrying")
        await asyncio.sleep(0.1 * reply["attempt"])  # back off a little more each time
        call.kwargs["attempt"] = reply["attempt"] + 1
        if call not in check.children:
            await check.connect(call)
        return reply

    check = Node(check_reply, uuid="check_reply")
    await call.connect(check, forward="reply")
    return TreeExecutor(description="retry loop", roots=[call])
