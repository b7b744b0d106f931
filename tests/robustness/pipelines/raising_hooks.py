"""One node per place where user code other than the node's own body can raise:
on_before_run, on_after_run, a lambda in kwargs, on_before_forward and a lambda
in a hook's kwargs. `healthy` has no hook and must still succeed."""

from grafo_core import Node, TreeExecutor


async def work(value=1):
    return value


async def take(amount):
    return amount


async def failing_hook(name="hook"):
    raise ValueError(f"{name} exploded")


async def failing_forward(value):
    raise KeyError("forward exploded")


def failing_lambda():
    raise RuntimeError("lambda exploded")


async def build():
    before = Node(work, uuid="before", on_before_run=(failing_hook, {"name": "before"}))
    after = Node(work, uuid="after", on_after_run=(failing_hook, {"name": "after"}))
    from_lambda = Node(work, uuid="lambda", kwargs={"value": lambda: failing_lambda()})
    forward = Node(work, uuid="forward")
    child = Node(take, uuid="child")
    await forward.connect(child, forward="amount", on_before_forward=failing_forward)
    hook_lambda = Node(
        work,
        uuid="hook_lambda",
        on_before_run=(take, {"amount": lambda: failing_lambda()}),
    )
    healthy = Node(work, uuid="healthy")
    return TreeExecutor(
        uuid="raising-hooks",
        roots=[before, after, from_lambda, forward, hook_lambda, healthy],
        stop_on_error=False,
    )
