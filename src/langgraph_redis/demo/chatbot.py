"""LangGraph's "cross-thread persistence (functional API)" guide on langgraph-redis.

The workflow below is the guide's code; only the imports differ (our store and saver,
and offline stand-ins for the LLM and the embeddings). ``run`` starts an embedded
Valkey unless ``REDIS_URL`` is set, so the demo needs no server and no network.

On a server given by ``REDIS_URL`` the demo may share a database with applications
and with the README's snippet, so it writes only under a prefix of its own
(``langgraph-redis-demo:<random>``, never the library's default) and removes what it
wrote at the end unless asked to keep it.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.func import entrypoint, task
from langgraph.graph import add_messages
from langgraph.store.base import BaseStore

from langgraph_redis import RedisSaver, RedisStore
from langgraph_redis.demo import HashEmbeddings, ScriptedChatModel

model = ScriptedChatModel()

DEMO_PREFIX = "langgraph-redis-demo"
"""Key prefix family of the demo's runs: no application uses it by default."""


INDEX: Any = {
    "dims": 256,
    "embed": HashEmbeddings(256),
    "ann_index_config": {"vector_type": "vector"},
    "distance_type": "cosine",
}
"""The guide's index config, with the offline embedder."""


def build(redis_uri: str, **options: Any) -> tuple[Any, RedisStore, RedisSaver]:
    """The guide's store, checkpointer and workflow, built as the guide builds them.

    ``options`` (e.g. ``prefix``) go to both ``from_conn_string`` calls; the guide has none.
    """
    with RedisStore.from_conn_string(redis_uri, index=INDEX, **options) as s:
        s.setup()
        redis_store = s

    with RedisSaver.from_conn_string(redis_uri, **options) as cp:
        cp.setup()
        checkpointer = cp

    return make_workflow(checkpointer, redis_store), redis_store, checkpointer


def make_workflow(checkpointer: Any, redis_store: Any) -> Any:
    """The guide's task and entrypoint, verbatim but for type annotations."""

    @task
    def call_model(messages: list[BaseMessage], memory_store: BaseStore, user_id: str) -> Any:
        namespace = ("memories", user_id)
        last_message = messages[-1]
        memories = memory_store.search(namespace, query=str(last_message.content))
        info = "\n".join([d.value["data"] for d in memories])
        system_msg = f"You are a helpful assistant talking to the user. User info: {info}"

        # Store new memories if the user asks the model to remember
        if "remember" in str(last_message.content).lower():
            memory = "User name is Bob"
            memory_store.put(namespace, str(uuid.uuid4()), {"data": memory})

        response = model.invoke([{"role": "system", "content": system_msg}, *messages])
        return response

    @entrypoint(checkpointer=checkpointer, store=redis_store)
    def workflow(
        inputs: Any,
        *,
        previous: Any,
        config: RunnableConfig,
        store: BaseStore,
    ) -> Any:
        user_id = config["configurable"]["user_id"]
        previous = previous or []
        inputs = add_messages(previous, inputs)
        response = call_model(inputs, store, user_id).result()
        return entrypoint.final(value=response, save=add_messages(inputs, response))

    return workflow


def _chat(workflow: Any, config: Any, text: str) -> None:
    """One turn, printed like LangGraph's streamed ``pretty_print``: the user's message too."""
    HumanMessage(content=text).pretty_print()
    for chunk in workflow.stream([{"role": "user", "content": text}], config, stream_mode="values"):
        chunk.pretty_print()


def converse(workflow: Any, redis_store: RedisStore, prefix: str = "") -> None:
    """The guide's three conversations and the memory listing, printed as the guide does."""
    bob, other = f"{prefix}1", f"{prefix}2"
    _chat(
        workflow,
        {"configurable": {"thread_id": f"{prefix}1", "user_id": bob}},
        "Hi! Remember: my name is Bob",
    )
    _chat(
        workflow, {"configurable": {"thread_id": f"{prefix}2", "user_id": bob}}, "what is my name?"
    )

    print("\nMemories stored for user", bob)
    for memory in redis_store.search(("memories", bob)):
        print(memory.value)

    print("\nA different user, in a new thread:")
    _chat(
        workflow,
        {"configurable": {"thread_id": f"{prefix}3", "user_id": other}},
        "what is my name?",
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _index_prefixes(conn: Any, name: str) -> list[str]:
    """Key prefixes an FT index covers (``FT.INFO ... index_definition prefixes``)."""
    info = conn.execute_command("FT.INFO", name)
    pairs = dict(info) if isinstance(info, dict) else dict(zip(info[::2], info[1::2]))
    definition: Any = next((v for k, v in pairs.items() if _text(k) == "index_definition"), [])
    if isinstance(definition, dict):
        definition = [x for kv in definition.items() for x in kv]
    for key, value in zip(definition[::2], definition[1::2]):
        if _text(key) == "prefixes":
            return [_text(p) for p in value]
    return []


def remove_prefix(url: str, prefix: str) -> int:
    """Delete every key under ``prefix`` and the FT indexes over it; return the key count.

    Indexes first, so the server does not re-index keys being deleted. Only names under
    ``prefix:`` are touched, so an application on the same database is left alone.
    """
    removed = 0
    with redis.Redis.from_url(url) as conn:
        try:
            indexes = [_text(n) for n in conn.execute_command("FT._LIST")]
        except redis.ResponseError:  # no query engine on this server
            indexes = []
        for name in indexes:
            covered = _index_prefixes(conn, name)
            if name.startswith(f"{prefix}:") or (
                covered and all(p.startswith(f"{prefix}:") for p in covered)
            ):
                conn.execute_command("FT.DROPINDEX", name)
        batch: list[Any] = []
        for key in conn.scan_iter(match=f"{prefix}:*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                removed += int(conn.unlink(*batch))
                batch = []
        if batch:
            removed += int(conn.unlink(*batch))
    return removed


def _install_hint() -> str:
    """``pip install '<what>[embedded]'``: this checkout's path, or the package name."""
    root = Path(__file__).resolve().parents[3]
    target = str(root) if (root / "pyproject.toml").exists() else "langgraph-redis"
    return f"pip install '{target}[embedded]'"


@contextlib.contextmanager
def _server(url: str | None) -> Iterator[str]:
    """``url`` as given, or an embedded Valkey for the duration of the block."""
    if url:
        yield url
        return
    from langgraph_redis.demo.embedded import EmbeddedValkey, NotInstalled, find_binary

    try:
        find_binary()
    except NotInstalled as exc:
        raise SystemExit(
            f"langgraph-redis demo: no embedded server ({exc}); "
            f"run {_install_hint()} or set REDIS_URL=redis://host:port"
        ) from None
    print("Starting an embedded Valkey...", flush=True)
    try:
        server = EmbeddedValkey()
    except RuntimeError as exc:  # it did not start: say so in one line, not a traceback
        raise SystemExit(f"langgraph-redis demo: {exc}") from None
    with server:
        print(
            f"Embedded Valkey ready on 127.0.0.1:{server.port} (pid {server.process.pid})\n",
            flush=True,
        )
        yield server.url


def run(*, keep: bool = False, hold: bool = False) -> None:
    """Run the demo on ``REDIS_URL`` or on an embedded Valkey started for the occasion.

    ``keep`` leaves the demo's keys in place (and prints their prefix). ``hold`` waits
    for a signal once the server is up, instead of talking: the tests use it to check
    that no way of ending the demo leaves the embedded server running.
    """
    prefix = f"{DEMO_PREFIX}:{uuid.uuid4().hex[:8]}"
    with _server(os.environ.get("REDIS_URL")) as url:
        if hold:
            print("Holding until interrupted.", flush=True)
            while True:
                time.sleep(3600)
        try:
            workflow, redis_store, _ = build(url, prefix=prefix)
            converse(workflow, redis_store)
        finally:
            if not keep:
                remove_prefix(url, prefix)
            elif os.environ.get("REDIS_URL"):
                print(f"\nKept the demo's keys under {prefix}:*")
