"""Deterministic inputs shared by every subject: chat checkpoints, writes, an embedder.

Imports only LangGraph's checkpoint package, langchain-core and numpy, which the peer
virtualenv has too, so ours and langgraph-checkpoint-redis store byte-identical inputs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.checkpoint.base import Checkpoint, CheckpointMetadata, empty_checkpoint
from langgraph.checkpoint.base.id import uuid6

# Ten messages of ~200 characters: a short chat window, the typical "messages" channel.
_SENTENCE = "The quick brown fox jumps over the lazy dog while the band plays on. "
MESSAGES: list[BaseMessage] = [
    (HumanMessage if i % 2 == 0 else AIMessage)(content=f"{i}: " + _SENTENCE * 3, id=f"m{i}")
    for i in range(10)
]

VersionFn = Callable[[Any, None], Any]


class ThreadWriter:
    """Builds the successive checkpoints of one thread, like a graph step would.

    Each step bumps the ``messages`` and ``step`` channel versions (through the subject's
    own ``get_next_version``) and keeps ``user_id`` unchanged, so savers that store only
    changed channels can show it.
    """

    def __init__(self, thread_id: str, next_version: VersionFn) -> None:
        self.thread_id = thread_id
        self._next = next_version
        self._versions: dict[str, Any] = {}
        self.parent_id: str | None = None
        self.step = 0

    def next(self) -> tuple[dict[str, Any], Checkpoint, CheckpointMetadata, dict[str, Any]]:
        """``(config, checkpoint, metadata, new_versions)`` for ``aput``."""
        changed = ["messages", "step"] if self.step else ["messages", "step", "user_id"]
        new_versions = {c: self._next(self._versions.get(c), None) for c in changed}
        self._versions.update(new_versions)
        cp = empty_checkpoint()
        cp["id"] = str(uuid6(clock_seq=self.step))
        cp["channel_values"] = {"messages": MESSAGES, "step": self.step, "user_id": "user-1"}
        cp["channel_versions"] = dict(self._versions)
        cp["versions_seen"] = {"agent": {"messages": self._versions["messages"]}}
        cp["updated_channels"] = changed
        configurable: dict[str, Any] = {"thread_id": self.thread_id, "checkpoint_ns": ""}
        if self.parent_id:
            configurable["checkpoint_id"] = self.parent_id
        metadata: CheckpointMetadata = {"source": "loop", "step": self.step, "parents": {}}
        self.parent_id = cp["id"]
        self.step += 1
        return {"configurable": configurable}, cp, metadata, new_versions


def write_config(thread_id: str, checkpoint_id: str) -> dict[str, Any]:
    """Config naming one checkpoint, for ``aput_writes``."""
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": "",
            "checkpoint_id": checkpoint_id,
        }
    }


WRITES: list[tuple[str, Any]] = [
    ("messages", [AIMessage(content="ok " + _SENTENCE, id="w1")]),
    ("step", 1),
]


def thread_config(thread_id: str) -> dict[str, Any]:
    """Config of a thread's latest checkpoint, for ``aget_tuple`` and ``alist``."""
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}


class VectorEmbeddings(Embeddings):
    """Embeddings computed in-process by ``_one(text)``, async methods included.

    The async methods are overridden because langchain's defaults hop to a thread pool,
    which would add executor latency to every store call and blur the comparison.
    """

    def _one(self, text: str) -> list[float]:
        raise NotImplementedError

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._one(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._one(text)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        return self.embed_query(text)


class HashEmbeddings(VectorEmbeddings):
    """Deterministic unit vectors seeded from a hash of the text (no model, no network)."""

    def __init__(self, dims: int) -> None:
        self.dims = dims

    def _one(self, text: str) -> list[float]:
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        vec = np.random.default_rng(seed).standard_normal(self.dims).astype(np.float32)
        vec /= np.linalg.norm(vec)
        out: list[float] = vec.tolist()
        return out


COLORS = ("red", "green", "blue", "amber", "violet")


def store_item(i: int) -> tuple[tuple[str, ...], str, dict[str, Any]]:
    """``(namespace, key, value)`` of item ``i``: 10 users, 5 colours, one text field."""
    value = {
        "text": f"memory {i}: user likes {COLORS[i % 5]} things and topic {i % 97}",
        "color": COLORS[i % 5],
        "n": i,
    }
    return ("bench", f"u{i % 10}"), f"k{i}", value
