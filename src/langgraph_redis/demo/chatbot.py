"""LangGraph's "cross-thread persistence (functional API)" guide on langgraph-redis.

The workflow below is the guide's code; only the imports differ (our store and saver,
and offline stand-ins for the LLM and the embeddings). ``run`` starts an embedded
Valkey unless ``REDIS_URL`` is set, so the demo needs no server and no network.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.func import entrypoint, task
from langgraph.graph import add_messages
from langgraph.store.base import BaseStore

from langgraph_redis import RedisSaver, RedisStore
from langgraph_redis.demo import HashEmbeddings, ScriptedChatModel

model = ScriptedChatModel()


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


def converse(workflow: Any, redis_store: RedisStore, prefix: str = "") -> None:
    """The guide's three conversations and the memory listing, printed as the guide does."""
    bob, other = f"{prefix}1", f"{prefix}2"
    config: Any = {"configurable": {"thread_id": f"{prefix}1", "user_id": bob}}
    input_message = {"role": "user", "content": "Hi! Remember: my name is Bob"}
    for chunk in workflow.stream([input_message], config, stream_mode="values"):
        chunk.pretty_print()

    config = {"configurable": {"thread_id": f"{prefix}2", "user_id": bob}}
    input_message = {"role": "user", "content": "what is my name?"}
    for chunk in workflow.stream([input_message], config, stream_mode="values"):
        chunk.pretty_print()

    print("\nMemories stored for user", bob)
    for memory in redis_store.search(("memories", bob)):
        print(memory.value)

    print("\nA different user, in a new thread:")
    config = {"configurable": {"thread_id": f"{prefix}3", "user_id": other}}
    input_message = {"role": "user", "content": "what is my name?"}
    for chunk in workflow.stream([input_message], config, stream_mode="values"):
        chunk.pretty_print()


def run() -> None:
    """Run the demo on ``REDIS_URL`` or on an embedded Valkey started for the occasion."""
    url = os.environ.get("REDIS_URL")
    server = None
    if not url:
        from langgraph_redis._servers import start_server

        server = start_server("valkey")
        url = server.url
        print(f"Embedded Valkey started at {url} (pid {server.pid})\n")
    try:
        workflow, redis_store, _ = build(url)
        converse(workflow, redis_store, prefix=uuid.uuid4().hex[:6] + "-" if not server else "")
    finally:
        if server is not None:
            server.stop()
