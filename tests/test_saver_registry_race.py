"""On a cluster, a ``delete_thread`` racing a write never hides the thread from ``list(None)``.

The thread registry (one sorted set) lives in another slot than a thread's keys, so a
``put`` (or ``copy_thread``) sends its registry ``ZADD`` in a round trip of its own
before its script, and a cluster ``delete_thread`` its ``ZREM`` before its script. These
tests drive the one bad interleaving deterministically: the writer's ``ZADD`` has run,
then a whole ``delete_thread`` of the same thread runs (another client), then the
writer's script. Nothing is mocked: a hook on the runner's command queueing runs the
delete at the moment the writer queues its first command in the thread's slot, and a
hook on redis-py's reply reading cancels the writer at each reply it reads afterwards.

Invariant checked: whenever the thread's checkpoint is readable by id, ``list(None)``
(fresh client) lists it.

Not generated: cancellation is async-only.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any, cast

import pytest
import redis
import redis.asyncio.connection
from langgraph.checkpoint.base import Checkpoint, CheckpointMetadata, empty_checkpoint
from langgraph.checkpoint.base.id import uuid6

from langgraph_redis import AsyncRedisSaver, AsyncShallowRedisSaver
from langgraph_redis._acompat import _finishing, aqueue_command
from langgraph_redis._async import _run as run_module
from langgraph_redis._core.checkpoint.keys import thread_registry
from tests.servers import LocalCluster
from tests.topology import CLUSTER_ENGINES, shared_cluster

pytestmark = pytest.mark.cluster

META = cast(CheckpointMetadata, {"step": 0, "source": "input"})


def _snapshot() -> Checkpoint:
    cp = empty_checkpoint()
    cp["id"] = str(uuid6())
    return cp


def _cfg(tid: str) -> Any:
    return {"configurable": {"thread_id": tid, "checkpoint_ns": ""}}


@pytest.fixture(params=CLUSTER_ENGINES)
def cluster(request: pytest.FixtureRequest) -> LocalCluster:
    return shared_cluster(request.param)


class Race:
    """Runs ``action`` once: when the runner, after queueing the registry ``ZADD`` of
    thread ``tid``, first queues a command of that thread's slot (the write itself)."""

    def __init__(self, prefix: str) -> None:
        self.registry = thread_registry(prefix)
        self.tid = ""
        self.action: Any = None
        self.zadded = False
        self.fired = False

    def arm(self, tid: str, action: Any) -> None:
        self.tid, self.action, self.zadded, self.fired = tid, action, False, False

    async def before(self, cmd: tuple[Any, ...]) -> None:
        if not self.action or self.fired:
            return
        words = [a.decode(errors="replace") if isinstance(a, bytes) else str(a) for a in cmd]
        if words[0] == "ZADD" and words[1] == self.registry and words[-1] == self.tid:
            self.zadded = True
        elif self.zadded and any("{" + self.tid + "}" in w for w in words):
            self.fired = True
            await self.action()


class Replies:
    """Calls ``action`` at the ``at``-th reply read once armed (1-based)."""

    def __init__(self) -> None:
        self.at = 0
        self.seen = 0
        self.action: Any = None

    def arm(self, at: int, action: Any) -> None:
        self.at, self.seen, self.action = at, 0, action

    def tick(self) -> None:
        if self.at:
            self.seen += 1
            if self.seen == self.at:
                self.at = 0
                self.action()


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch, key_prefix: str) -> Iterator[tuple[Race, Replies]]:
    race, replies = Race(key_prefix), Replies()
    queue = aqueue_command
    read = redis.asyncio.connection.AbstractConnection.read_response

    async def queue_hooked(pipe: Any, cmd: tuple[Any, ...]) -> None:
        await race.before(cmd)
        await queue(pipe, cmd)

    async def read_hooked(self: Any, *args: Any, **kwargs: Any) -> Any:
        replies.tick()
        return await read(self, *args, **kwargs)

    monkeypatch.setattr(run_module, "aqueue_command", queue_hooked)
    monkeypatch.setattr(redis.asyncio.connection.AbstractConnection, "read_response", read_hooked)
    yield race, replies
    race.action = None
    replies.at = 0


async def _settle() -> None:
    """Let writes that outlive their cancelled caller finish."""
    while _finishing:
        await asyncio.wait(list(_finishing))


async def _listed(url: str, prefix: str) -> set[str]:
    async with AsyncRedisSaver.from_conn_string(url, prefix=prefix) as fresh:
        return {t.config["configurable"]["thread_id"] async for t in fresh.alist(None)}


async def _readable(url: str, prefix: str, tid: str) -> bool:
    async with AsyncRedisSaver.from_conn_string(url, prefix=prefix) as fresh:
        return await fresh.aget_tuple(_cfg(tid)) is not None


@pytest.mark.parametrize("kind", [AsyncRedisSaver, AsyncShallowRedisSaver])
async def test_delete_between_registry_and_put_script_hides_nothing(
    cluster: LocalCluster, key_prefix: str, hooks: tuple[Race, Replies], kind: type[Any]
) -> None:
    """The delete lands between the put's registry ``ZADD`` and its script (failed before:
    the put's checkpoint was readable by id and missing from ``list(None)``)."""
    race, _ = hooks
    async with (
        kind.from_conn_string(cluster.url, prefix=key_prefix) as writer,
        AsyncRedisSaver.from_conn_string(cluster.url, prefix=key_prefix) as deleter,
    ):
        for tid in ("fresh", "existing"):
            if tid == "existing":
                await writer.aput(_cfg(tid), _snapshot(), META, {})
            race.arm(tid, lambda tid=tid: deleter.adelete_thread(tid))
            await writer.aput(_cfg(tid), _snapshot(), META, {})
            assert race.fired
            assert await _readable(cluster.url, key_prefix, tid)
        assert await _listed(cluster.url, key_prefix) == {"fresh", "existing"}


@pytest.mark.parametrize("at", [1, 2, 3, 4, 5])
async def test_put_cancelled_after_a_racing_delete_hides_nothing(
    cluster: LocalCluster, key_prefix: str, hooks: tuple[Race, Replies], at: int
) -> None:
    """The same race, and the put cancelled at its ``at``-th reply read after the delete
    (its script's reply, then whatever follows it). Whether or not the script ran, a
    checkpoint readable by id is listed (failed before for the points past the script)."""
    race, replies = hooks
    async with (
        AsyncRedisSaver.from_conn_string(cluster.url, prefix=key_prefix) as writer,
        AsyncRedisSaver.from_conn_string(cluster.url, prefix=key_prefix) as deleter,
    ):
        await writer.asetup()
        tid = f"t-{uuid.uuid4()}"
        await writer.aput(_cfg(tid), _snapshot(), META, {})
        task: asyncio.Task[Any] | None = None

        def cancel() -> None:
            assert task is not None
            task.cancel()

        async def delete_then_arm() -> None:
            await deleter.adelete_thread(tid)
            replies.arm(at, cancel)

        race.arm(tid, delete_then_arm)
        task = asyncio.ensure_future(writer.aput(_cfg(tid), _snapshot(), META, {}))
        await asyncio.wait([task])
        replies.at = 0
        await _settle()
        assert race.fired
        if await _readable(cluster.url, key_prefix, tid):
            assert tid in await _listed(cluster.url, key_prefix)


async def test_delete_between_registry_and_copy_hides_nothing(
    cluster: LocalCluster, key_prefix: str, hooks: tuple[Race, Replies]
) -> None:
    """``copy_thread`` writes the target like a put: registry first, then its slot."""
    race, _ = hooks
    async with (
        AsyncRedisSaver.from_conn_string(cluster.url, prefix=key_prefix) as writer,
        AsyncRedisSaver.from_conn_string(cluster.url, prefix=key_prefix) as deleter,
    ):
        await writer.aput(_cfg("source"), _snapshot(), META, {})
        race.arm("copy", lambda: deleter.adelete_thread("copy"))
        await writer.acopy_thread("source", "copy")
        assert race.fired
        assert await _readable(cluster.url, key_prefix, "copy")
        assert await _listed(cluster.url, key_prefix) == {"source", "copy"}


async def test_confirmation_is_not_refused_at_the_memory_limit(
    cluster: LocalCluster, key_prefix: str, hooks: tuple[Race, Replies]
) -> None:
    """The race, with the registry's node at its memory limit once the put's script is
    accepted (on another node): the put returns and its thread is listed (before the
    fix: hidden; with a plain ``ZADD`` as the confirmation: ``MemoryLimitError`` for a
    stored checkpoint)."""
    race, _ = hooks
    admin = redis.RedisCluster.from_url(cluster.url)
    try:
        registry_node = admin.get_node_from_key(thread_registry(key_prefix))  # type: ignore[no-untyped-call]
        tid = next(
            t
            for t in (f"t{i}" for i in range(1000))
            if admin.get_node_from_key(f"{key_prefix}:{{{t}}}:keys").name  # type: ignore[no-untyped-call]
            != registry_node.name
        )
        node = registry_node.redis_connection
        assert node is not None
        async with (
            AsyncRedisSaver.from_conn_string(cluster.url, prefix=key_prefix) as writer,
            AsyncRedisSaver.from_conn_string(cluster.url, prefix=key_prefix) as deleter,
        ):

            async def delete_then_limit() -> None:
                await deleter.adelete_thread(tid)
                node.config_set("maxmemory-policy", "noeviction")
                node.config_set("maxmemory", 1)

            race.arm(tid, delete_then_limit)
            try:
                await writer.aput(_cfg(tid), _snapshot(), META, {})
            finally:
                node.config_set("maxmemory", 0)
            assert race.fired
        assert await _readable(cluster.url, key_prefix, tid)
        assert await _listed(cluster.url, key_prefix) == {tid}
    finally:
        admin.close()
