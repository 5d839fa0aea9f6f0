"""The benchmarks' hand-written lower bounds do the same server work as our objects.

A lower bound is honest only if it sends what ours sends: the same commands (scripts
included: ``INFO commandstats`` counts the commands a script runs), so the ratio
measures client work alone. Counted on real servers around the same calls with the same
inputs, ours and the bound on their own prefixes; the results and the stored data are
compared too. No timing is measured or asserted.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest
import redis

from benchmarks.e2e import MESSAGES, build_chatbot
from benchmarks.lower_bound import HandWrittenSaver
from benchmarks.lower_bound_store import HandWrittenStore
from benchmarks.store import index_config
from benchmarks.workload import store_item
from langgraph_redis import AsyncRedisSaver, AsyncRedisStore
from langgraph_redis._core.store.engines.query_index import is_indexing
from langgraph_redis._core.store.keys import index_name
from tests.conftest import ENGINES

# The bound covers the query engine (Redis Stack) and the plain engine; not vector sets.
STORE_ENGINES = [e for e in ENGINES if e in ("valkey", "redis7", "stack", "env")]
QUERY_ENGINES = [e for e in ENGINES if e in ("stack", "env")]
IGNORED = {"info", "hello", "client|setinfo", "script|load", "ping"}
DIMS = 16
T = TypeVar("T")
ITEMS = 60


def _calls(url: str) -> dict[str, int]:
    with redis.Redis.from_url(url) as client:
        stats = client.info("commandstats")
    return {
        k.removeprefix("cmdstat_").lower(): int(v["calls"])
        for k, v in stats.items()
        if k.removeprefix("cmdstat_").lower() not in IGNORED
    }


def _wait_indexed(url: str, prefix: str) -> None:
    """Until the prefix's FT index has scanned in every existing key (polled, bounded)."""
    with redis.Redis.from_url(url) as client:
        for _ in range(500):
            if not is_indexing(client.ft(index_name(prefix)).info()):
                return
            time.sleep(0.01)
    raise AssertionError(f"index of {prefix!r} still indexing after 5 s")


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


async def _counted(url: str, calls: Callable[[], Awaitable[T]]) -> tuple[dict[str, int], T]:
    """The commands the server ran for ``calls`` (run once before to warm up: scripts
    loaded, connections open), and what the counted run returned."""
    await calls()
    before = _calls(url)
    result = await calls()
    return _delta(before, _calls(url)), result


@contextlib.asynccontextmanager
async def _stores(
    url: str, prefix: str, need_query: bool = False
) -> AsyncIterator[tuple[AsyncRedisStore, HandWrittenStore]]:
    """Ours on ``prefix``o, and the bound on ``prefix``b (our store on the bound's
    prefix makes the index and loads the items, as in the runner); all closed after."""
    from langgraph.store.base import PutOp

    cfg = index_config(DIMS)
    async with contextlib.AsyncExitStack() as stack:
        ours = AsyncRedisStore(url, index=cfg, prefix=prefix + "o")
        stack.push_async_callback(ours.aclose)
        loader = AsyncRedisStore(url, index=cfg, prefix=prefix + "b")
        stack.push_async_callback(loader.aclose)
        for store in (ours, loader):
            await store.asetup()
            await store.abatch([PutOp(*store_item(i)) for i in range(ITEMS)])
        engine = loader.engine
        if engine not in (("query",) if need_query else ("query", "plain")):
            pytest.skip(f"the lower bound has no search on the {engine} engine")
        bound = HandWrittenStore(
            url,
            prefix + "b",
            dims=DIMS,
            embed=cfg["embed"],
            engine="query" if engine == "query" else "plain",
        )
        stack.push_async_callback(bound.aclose)
        await bound.load_scripts()
        yield ours, bound


@pytest.mark.parametrize("engine", STORE_ENGINES)
async def test_store_bound_put_sends_our_commands_and_writes_our_data(
    redis_url: str, key_prefix: str
) -> None:
    async with _stores(redis_url, key_prefix) as (ours, bound):
        counted = []
        for store in (ours, bound):

            async def puts(store: Any = store) -> None:
                for i in range(10):
                    await store.aput(*store_item(i))

            counted.append((await _counted(redis_url, puts))[0])
        assert counted[0] == counted[1]
        assert counted[0].get("evalsha") == 10, counted[0]
        # the same item and vector hashes, but for the clock-derived fields
        with redis.Redis.from_url(redis_url) as client:
            for kind in ("i", "v"):
                tail = "k3" if kind == "i" else "k3:0"
                mine = client.hgetall(f"{key_prefix}o:{kind}:{{bench.u3}}:{tail}")
                theirs = client.hgetall(f"{key_prefix}b:{kind}:{{bench.u3}}:{tail}")
                for clocked in (b"ua", b"ca", b"ord"):
                    mine.pop(clocked, None)
                    theirs.pop(clocked, None)
                assert mine and mine == theirs, kind


@pytest.mark.parametrize("engine", QUERY_ENGINES)
async def test_store_bound_filter_search_sends_our_commands_and_finds_our_items(
    redis_url: str, key_prefix: str
) -> None:
    async with _stores(redis_url, key_prefix, need_query=True) as (ours, bound):
        # Both indexes scanned in: a search during the background scan confirms the
        # index once more later (FT.INFO), which is ours working, not a difference.
        _wait_indexed(redis_url, key_prefix + "o")
        _wait_indexed(redis_url, key_prefix + "b")
        counted = []
        found = []
        for store in (ours, bound):

            async def searches(store: Any = store) -> Any:
                for _ in range(5):
                    page = await store.asearch(("bench",), filter={"color": "red"}, limit=10)
                return page

            delta, page = await _counted(redis_url, searches)
            counted.append(delta)
            found.append([(i.namespace, i.key, i.value, i.score) for i in page])
        assert counted[0] == counted[1]
        assert counted[0].get("ft.search") == 5, counted[0]
        assert len(found[0]) == 10 and found[0] == found[1]


@pytest.mark.parametrize("engine", QUERY_ENGINES)
async def test_e2e_bound_runs_the_chatbot_with_our_commands(
    redis_url: str, key_prefix: str
) -> None:
    """The chatbot on our saver and store, then on the bound's, with the same inputs:
    the same replies and, once every user's page is full (or their namespace empty),
    the same commands per invocation. Both clocks are fixed, so the prefilter count
    (renewed every 5 s) runs once per user on both."""
    cfg = index_config(DIMS)
    now = 1_800_000_000.0
    saver = AsyncRedisSaver(redis_url, prefix=key_prefix + "o")
    store = AsyncRedisStore(redis_url, index=cfg, prefix=key_prefix + "o")
    store._clock = lambda: now
    await saver.asetup()
    await store.asetup()
    setup = AsyncRedisStore(redis_url, index=cfg, prefix=key_prefix + "b")
    await setup.asetup()  # the bound's index, as in the runner
    await setup.aclose()
    if setup.engine != "query":
        await saver.aclose()
        await store.aclose()
        pytest.skip("the lower bound searches on the query engine only")
    # Both indexes scanned in (see the filter test): on a server with many keys the
    # background scan outlasts the first invocations, and ours re-confirms the index.
    _wait_indexed(redis_url, key_prefix + "o")
    _wait_indexed(redis_url, key_prefix + "b")
    bsaver = HandWrittenSaver(redis_url, prefix=key_prefix + "b")
    bstore = HandWrittenStore(
        redis_url, key_prefix + "b", dims=DIMS, embed=cfg["embed"], engine="query"
    )
    bstore.clock = lambda: now
    await bsaver.load_scripts()
    await bstore.load_scripts()
    run = uuid.uuid4().hex[:6]

    async def invoke(app: Any, i: int) -> str:
        # user 0 always says "remember" (MESSAGES[0]), user 1 always asks (MESSAGES[1])
        user, message = i % 2, MESSAGES[i % 2].format(n=i)
        config = {"configurable": {"thread_id": f"{run}-t{i % 3}"}}
        reply = await app.ainvoke({"user_id": f"{run}-u{user}", "message": message}, config)
        assert isinstance(reply, str)
        return reply

    try:
        counted = []
        replies = []
        for saver_, store_ in ((saver, store), (bsaver, bstore)):
            app = build_chatbot(saver_, store_)
            for i in range(10):  # user 0 ends with five memories: every page full
                await invoke(app, i)
            before = _calls(redis_url)
            got = [await invoke(app, i) for i in range(10, 16)]
            counted.append(_delta(before, _calls(redis_url)))
            replies.append(got)
        assert counted[0] == counted[1]
        assert counted[0].get("ft.search") == 6 and counted[0].get("evalsha"), counted[0]
        assert replies[0] == replies[1]
    finally:
        await saver.aclose()
        await store.aclose()
        await bsaver.aclose()
        await bstore.aclose()
