"""Speed of ``langgraph-redis migrate``: ``python -m benchmarks.migrate [--threads N ...]``.

Writes a chat-like workload with langgraph-checkpoint-redis (test extra) on a local
Redis Stack (each turn of each thread: a human message, a model reply, 3 checkpoints with
their writes; store items with a 4-dim vector each), then migrates it to another prefix of
the same server and prints the report and the rates. The figures in docs/migrating.md
come from this script.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import START, MessagesState, StateGraph

from langgraph_redis import migrate
from tests.servers import server_url


def _embed(texts: list[str]) -> list[list[float]]:
    return [[(b - 128) / 128 for b in hashlib.sha256(t.encode()).digest()[:4]] for t in texts]


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.migrate")
    p.add_argument("--threads", type=int, default=200)
    p.add_argument("--turns", type=int, default=5)
    p.add_argument("--items", type=int, default=5000)
    args = p.parse_args()
    from langgraph.checkpoint.redis import RedisSaver as OldSaver
    from langgraph.store.base import PutOp
    from langgraph.store.redis import RedisStore as OldStore

    index: Any = {"dims": 4, "embed": _embed, "fields": ["text"]}

    def reply(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage(content=f"reply {len(state['messages'])}")]}

    with server_url("stack") as url:
        t0 = time.perf_counter()
        old = OldSaver(redis_url=url)
        old.setup()
        graph = (
            StateGraph(MessagesState).add_node("reply", reply).add_edge(START, "reply")
        ).compile(checkpointer=old)
        for t in range(args.threads):
            for turn in range(args.turns):
                graph.invoke(
                    {"messages": [HumanMessage(content=f"hello {turn}")]},
                    {"configurable": {"thread_id": f"thread-{t}"}},
                )
        with OldStore.from_conn_string(url, index=index) as store:
            store.setup()
            ops = [
                PutOp(("users", f"u{i % 100}"), f"k{i}", {"text": f"memory {i}", "i": i})
                for i in range(args.items)
            ]
            for i in range(0, len(ops), 500):
                store.batch(ops[i : i + 500])
        print(
            f"workload written with langgraph-checkpoint-redis in {time.perf_counter() - t0:.1f} s"
        )
        report = migrate(url, url, target_prefix="migrated", index=index)
        print(report.summary())
        print(
            f"threads phase {report.seconds_threads:.2f} s, store phase "
            f"{report.seconds_store:.2f} s"
        )
        t1 = time.perf_counter()
        again = migrate(url, url, target_prefix="migrated", index=index)
        print(
            f"re-run: {again.checkpoints_copied} checkpoints and {again.items_copied} items "
            f"copied, {time.perf_counter() - t1:.1f} s"
        )


if __name__ == "__main__":
    main()
