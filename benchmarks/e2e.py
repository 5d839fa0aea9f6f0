"""End to end: the cross-thread-persistence chatbot on LangGraph's functional API.

A scripted model (no LLM) and the hash embedder keep the work deterministic, so what is
measured is LangGraph plus the persistence layer: per invocation one checkpoint read,
the task's memory search, a memory write when the message says "remember", and the
checkpoint and task-result writes. Imports no project code (the peer worker runs it);
the hand-written lower bound (:mod:`benchmarks.lower_bound`,
:mod:`benchmarks.lower_bound_store`) runs the same graph.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langgraph.config import get_store
from langgraph.func import entrypoint, task
from langgraph.store.base import BaseStore

from benchmarks.stats import Sizes, measure_paired, record

MESSAGES = (
    "Hi, remember that my name is Bob and I like {n} cats",
    "What do you know about me?",
    "Please remember I work on project {n}",
    "Which project do I work on?",
)


@dataclass(frozen=True)
class E2ESizes(Sizes):
    """Invocations per concurrency level; threads and users spread the load."""

    invocations: int = 2000
    threads: int = 64
    users: int = 16
    dims: int = 1536
    budget_s: float = 30.0


def build_chatbot(checkpointer: Any, store: BaseStore) -> Any:
    """The guide's chatbot with a scripted reply in place of the model call."""

    @task
    async def respond(user_id: str, message: str) -> str:
        memories = get_store()
        namespace = ("memories", user_id)
        found = await memories.asearch(namespace, query=message, limit=3)
        if "remember" in message.lower():
            # "text": the field the benchmarks' index embeds, so memories have vectors and
            # the search above is a vector search (under "data" none was embedded)
            await memories.aput(namespace, uuid.uuid4().hex, {"text": message})
        known = "; ".join(str(m.value["text"]) for m in found)
        return f"(scripted) I know: {known[:200]}"

    @entrypoint(checkpointer=checkpointer, store=store)
    async def chatbot(inputs: dict[str, str], *, previous: Any = None) -> Any:
        history: list[str] = list(previous or [])[-20:]
        reply = await respond(inputs["user_id"], inputs["message"])
        return entrypoint.final(value=reply, save=[*history, inputs["message"], reply])

    return chatbot


async def bench_e2e(
    subjects: Mapping[str, tuple[Any, BaseStore]], engine: str, sizes: E2ESizes
) -> list[dict[str, Any]]:
    """Invocations/s and latency of the chatbot at each concurrency.

    ``subjects`` maps a name to its ``(checkpointer, store)``; subjects on one server
    (ours and the lower bound) are measured interleaved (:func:`measure_paired`), each
    on its own threads and users.
    """
    rows: list[dict[str, Any]] = []
    apps = {name: build_chatbot(saver, store) for name, (saver, store) in subjects.items()}
    tag = uuid.uuid4().hex[:6]
    for conc in sizes.concurrency:
        ops = {
            name: functools.partial(_invoke, app, f"{tag}{k}", conc, sizes)
            for k, (name, app) in enumerate(apps.items())
        }
        stats = await measure_paired(
            ops, sizes.invocations, conc, warmup=sizes.warmup, budget_s=sizes.budget_s
        )
        rows += [record("e2e", "invoke", name, engine, stat) for name, stat in stats.items()]
    return rows


async def _invoke(app: Any, tag: str, conc: int, sizes: E2ESizes, i: int) -> None:
    config = {"configurable": {"thread_id": f"{tag}-c{conc}-t{i % sizes.threads}"}}
    inputs = {
        "user_id": f"{tag}-u{i % sizes.users}",
        "message": MESSAGES[i % len(MESSAGES)].format(n=i),
    }
    reply = await app.ainvoke(inputs, config)
    assert isinstance(reply, str)
