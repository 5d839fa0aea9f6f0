"""LangGraph's cross-thread-persistence guide (functional API) on every engine.

Sync: the demo's code (``workflow.stream(..., stream_mode="values")``). Async: the same
workflow driven by ``await workflow.ainvoke`` over the async store and saver, and over
the sync ones.
"""

from __future__ import annotations

from typing import Any

import pytest

from langgraph_redis import AsyncRedisSaver, AsyncRedisStore, RedisSaver, RedisStore
from langgraph_redis.demo.chatbot import INDEX, build, converse, make_workflow
from tests.servers import LocalCluster


def _config(thread: str, user: str, prefix: str) -> Any:
    return {"configurable": {"thread_id": f"{prefix}{thread}", "user_id": f"{prefix}{user}"}}


def test_guide_sync_stream(
    redis_url: str, key_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow, store, _ = build(redis_url, prefix=key_prefix)
    converse(workflow, store)  # used after the `with` blocks, as the guide does
    out = capsys.readouterr().out
    conversations = out.split("Ai Message")
    assert "remember" in conversations[1].lower()
    assert "Your name is Bob." in conversations[2]
    assert "{'data': 'User name is Bob'}" in out
    assert "don't know your name" in conversations[3]
    memories = store.search(("memories", "1"), query="what is my name?")
    assert [m.value for m in memories] == [{"data": "User name is Bob"}]
    assert memories[0].score is not None and memories[0].score > 0


async def _three_turns(workflow: Any, prefix: str) -> list[str]:
    first = await workflow.ainvoke(
        [{"role": "user", "content": "Hi! Remember: my name is Bob"}], _config("1", "1", prefix)
    )
    second = await workflow.ainvoke(
        [{"role": "user", "content": "what is my name?"}], _config("2", "1", prefix)
    )
    third = await workflow.ainvoke(
        [{"role": "user", "content": "what is my name?"}], _config("3", "2", prefix)
    )
    return [str(first.content), str(second.content), str(third.content)]


def _check(answers: list[str]) -> None:
    assert "remember" in answers[0].lower()
    assert answers[1] == "Your name is Bob."
    assert "don't know your name" in answers[2]


async def test_guide_async_ainvoke(redis_url: str, key_prefix: str) -> None:
    async with AsyncRedisStore.from_conn_string(redis_url, index=INDEX, prefix=key_prefix) as s:
        await s.asetup()
        store = s
    async with AsyncRedisSaver.from_conn_string(redis_url, prefix=key_prefix) as cp:
        await cp.asetup()
        checkpointer = cp
    try:
        _check(await _three_turns(make_workflow(checkpointer, store), key_prefix))
        history = await checkpointer.aget_tuple(_config("1", "1", key_prefix))
        assert history is not None and len(history.checkpoint["channel_values"]) >= 1
        memories = await store.asearch(("memories", f"{key_prefix}1"))
        assert [m.value for m in memories] == [{"data": "User name is Bob"}]
    finally:  # used after their blocks, as the guide does: they reconnected
        await store.aclose()
        await checkpointer.aclose()


async def test_guide_sync_classes_under_ainvoke(redis_url: str, key_prefix: str) -> None:
    with RedisStore.from_conn_string(redis_url, index=INDEX, prefix=key_prefix) as s:
        s.setup()
        store = s
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix) as cp:
        cp.setup()
        checkpointer = cp
    _check(await _three_turns(make_workflow(checkpointer, store), key_prefix))


@pytest.mark.cluster
def test_guide_demo_code_on_cluster(
    cluster: LocalCluster, key_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's own (sync) ``build``/``converse`` with a cluster URL."""
    workflow, store, _ = build(cluster.url, prefix=key_prefix)
    converse(workflow, store, prefix=key_prefix)
    turns = capsys.readouterr().out.split("Ai Message")
    assert "Your name is Bob." in turns[2]
    assert "don't know your name" in turns[3]
    store.close()
