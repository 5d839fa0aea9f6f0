"""The inspector CLI, driven as a user would: a subprocess against a real server.

The data comes from real LangGraph runs (a chat graph with a subgraph and an interrupt),
store writes and cache writes; every command's output is checked against what the
library's own API returns, and the database must be byte-for-byte unchanged afterwards.
"""

from __future__ import annotations

import json
import operator
import os
import re
from typing import Annotated, Any

import pytest
import redis
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import interrupt
from typing_extensions import TypedDict

from langgraph_redis import RedisCache, RedisSaver, RedisStore
from tests.subprocesses import run_python


class Chat(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    turns: Annotated[list[int], operator.add]


def reply(state: Chat) -> dict[str, Any]:
    last = state["messages"][-1].content
    return {"messages": [AIMessage(f"echo: {last}")], "turns": [1]}


def ask(state: Chat) -> dict[str, Any]:
    answer = interrupt("approve?")
    return {"messages": [HumanMessage(f"approved: {answer}")]}


def build(saver: RedisSaver) -> Any:
    inner = StateGraph(Chat)
    inner.add_node("reply", reply)
    inner.add_edge(START, "reply")
    outer = StateGraph(Chat)
    outer.add_node("sub", inner.compile())
    outer.add_node("ask", ask)
    outer.add_edge(START, "sub")
    outer.add_edge("sub", "ask")
    return outer.compile(checkpointer=saver)


def cli(*args: str) -> str:
    done = run_python("-m", "langgraph_redis", *args, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def snapshot(url: str, prefix: str) -> dict[bytes, Any]:
    """Every key of the test with its type, value dump and TTL presence."""
    client = redis.Redis.from_url(url)
    try:
        return {
            k: (client.type(k), client.dump(k), client.pttl(k) > 0)
            for k in client.scan_iter(match=f"{prefix}:*", count=1000)
        }
    finally:
        client.close()


@pytest.fixture
def data(redis_url: str, key_prefix: str) -> dict[str, Any]:
    threads = ["alice", "bob", "carol"]
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        graph = build(saver)
        for i, tid in enumerate(threads):
            config = {"configurable": {"thread_id": tid}}
            for turn in range(i + 1):
                graph.invoke({"messages": [HumanMessage(f"hi {turn} from {tid}")]}, config)
        listed = {tid: list(saver.list({"configurable": {"thread_id": tid}})) for tid in threads}
        latest = saver.get_tuple({"configurable": {"thread_id": "carol"}})
    saver.close()
    with RedisStore.from_conn_string(redis_url, prefix=key_prefix) as store:
        for u in range(3):
            for k in range(u + 1):
                store.put(("memories", f"user-{u}"), f"k{k}", {"text": f"fact {k} of {u}"})
        store.put(("prefs", "user-0"), "theme", {"dark": True}, ttl=60)
    store.close()
    with RedisCache.from_conn_string(redis_url, prefix=key_prefix) as cache:
        cache.set({(("node",), "a"): (1, 3600), (("node",), "b"): (2, None)})
    cache.close()
    return {"threads": threads, "listed": listed, "latest": latest}


def test_commands_match_the_api_and_change_nothing(
    data: dict[str, Any], redis_url: str, key_prefix: str
) -> None:
    before = snapshot(redis_url, key_prefix)
    p = ("--prefix", key_prefix)

    out = cli("threads", redis_url, *p)
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["THREAD", "CHECKPOINTS"]
    rows = {ln.split()[0]: ln.split()[1] for ln in lines[1:4]}
    assert rows == {t: str(len(data["listed"][t])) for t in data["threads"]}
    assert "threads 1-3 of 3" in out

    out = cli("threads", redis_url, *p, "--limit", "2")
    assert "next page: --offset 2" in out
    out = cli("threads", redis_url, *p, "--limit", "2", "--offset", "2")
    assert [ln.split()[0] for ln in out.splitlines()[1:-1]] == ["carol"]

    # history: newest first, the same ids as list(), paged with --before
    ids = [t.config["configurable"]["checkpoint_id"] for t in data["listed"]["carol"]]
    seen: list[str] = []
    args: list[str] = []
    while True:
        out = cli("history", redis_url, "carol", *p, "--limit", "4", *args)
        body = [ln for ln in out.splitlines()[1:] if not ln.startswith("older:")]
        seen += [ln.split()[0] for ln in body]
        older = [ln for ln in out.splitlines() if ln.startswith("older:")]
        if not older:
            break
        args = ["--before", older[0].split()[-1]]
    assert seen == ids
    assert "sub:" in cli("history", redis_url, "carol", *p)  # the subgraph's namespace
    assert "messages" in cli("history", redis_url, "alice", *p)

    # show: the latest state, as text and as JSON
    latest = data["latest"]
    shown = json.loads(cli("show", redis_url, "carol", *p, "--json"))
    assert shown["checkpoint_id"] == latest.config["configurable"]["checkpoint_id"]
    assert [m["content"] for m in shown["values"]["messages"]] == [
        m.content for m in latest.checkpoint["channel_values"]["messages"]
    ]
    assert shown["pending_writes"]  # the interrupt is waiting
    text = cli("show", redis_url, "carol", *p)
    assert "human: hi 2 from carol" in text and "ai: echo: hi 2 from carol" in text
    older_id = ids[-2]
    assert (
        json.loads(cli("show", redis_url, "carol", older_id, *p, "--json"))["checkpoint_id"]
        == older_id
    )

    # store: namespaces with counts, items of one namespace
    out = cli("store", redis_url, *p)
    counts = dict(ln.rsplit(None, 1) for ln in out.splitlines()[1:-1])
    assert counts == {
        "memories / user-0": "1",
        "memories / user-1": "2",
        "memories / user-2": "3",
        "prefs / user-0": "1",
    }
    out = cli("store", redis_url, "memories", "user-2", "--items", *p)
    assert [ln.split()[0] for ln in out.splitlines()[1:-1]] == ["k0", "k1", "k2"]
    assert "fact 2 of 2" in out
    out = cli("store", redis_url, "memories", *p, "--limit", "2")
    assert len(out.splitlines()) == 4 and "next page: --offset 2" in out

    # stats: every kind of key this data made, counted exactly (below the scan limit)
    out = cli("stats", redis_url, *p)
    kinds = {re.split(r"\s{2,}", ln)[0]: re.split(r"\s{2,}", ln) for ln in out.splitlines()[2:-1]}
    for kind in ("checkpoint", "channel value", "pending writes", "store item", "cache entry"):
        assert kind in kinds, out
    assert kinds["cache entry"][1] == "2"
    assert kinds["store item"][3] == "1/7"  # one of the seven items has a TTL

    assert "\x1b[" not in out  # not a terminal: no colour
    assert "\x1b[1m" in cli("threads", redis_url, *p, "--color", "always")
    assert snapshot(redis_url, key_prefix) == before


def test_missing_thread_and_empty_database(redis_url: str, key_prefix: str) -> None:
    p = ("--prefix", key_prefix)
    assert "no threads" in cli("threads", redis_url, *p)
    assert "no checkpoints" in cli("history", redis_url, "nobody", *p)
    done = run_python("-m", "langgraph_redis", "show", redis_url, "nobody", *p, timeout=60)
    assert done.returncode != 0 and "no checkpoint for thread 'nobody'" in done.stderr
    assert "Traceback" not in done.stderr


def test_inspector_reads_the_demos_data(redis_url: str) -> None:
    env = {**os.environ, "REDIS_URL": redis_url}
    demo = run_python("-m", "langgraph_redis", "demo", "--keep", env=env, timeout=180)
    assert demo.returncode == 0, demo.stderr
    prefix = re.findall(r"under (\S+):\*", demo.stdout)[-1]
    try:
        out = cli("threads", redis_url, "--prefix", prefix)
        rows = [ln.split() for ln in out.splitlines()[1:-1]]
        assert len(rows) == 3 and all(int(r[1]) >= 2 for r in rows)
        out = cli("store", redis_url, "--prefix", prefix)
        assert "memories / " in out
        shown = json.loads(cli("show", redis_url, rows[0][0], "--prefix", prefix, "--json"))
        assert shown["thread_id"] == rows[0][0]
    finally:
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.delete(key)
        try:  # the demo's search index, where the server has a query engine
            for name in client.execute_command("FT._LIST"):  # type: ignore[no-untyped-call]
                if name.decode().startswith(prefix):
                    client.execute_command("FT.DROPINDEX", name)  # type: ignore[no-untyped-call]
        except redis.ResponseError:
            pass
        client.close()
