"""Offline pieces for the demo and tests: a deterministic embedder and a scripted chat model.

Both stand in for network services (an embeddings API, an LLM) so LangGraph's
cross-thread-persistence guide runs unchanged on a machine with no network access.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.embeddings import Embeddings
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

_WORD = re.compile(r"[a-z0-9]+")


class HashEmbeddings(Embeddings):
    """Bag-of-words vectors: each word adds 1 to a hashed dimension; unit length.

    Texts that share words get a positive cosine similarity, so semantic search on the
    guide's data ("what is my name?" vs "User name is Bob") ranks sensibly, and the same
    text always gives the same vector in every process.
    """

    def __init__(self, dims: int = 256) -> None:
        self.dims = dims

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.dims
        for word in _WORD.findall(text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            vec[int.from_bytes(digest, "little") % self.dims] += 1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


class ScriptedChatModel(BaseChatModel):
    """A chat model that answers from the system prompt, the way the guide's LLM would.

    It greets, and answers "what is my name?" with the name found in the user info the
    workflow put in the system message, or says it does not know.
    """

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self,
        messages: Sequence[BaseMessage] | Any,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        system = " ".join(str(m.content) for m in messages if m.type == "system")
        last = str(messages[-1].content).lower() if messages else ""
        known = re.search(r"User name is (\w+)", system)
        if "name" in last and "?" in last:
            text = (
                f"Your name is {known.group(1)}."
                if known
                else "I'm sorry, I don't know your name. Would you like to tell me?"
            )
        elif "remember" in last:
            text = "Hello! I'll remember that. How can I help you today?"
        else:
            text = "Hello! How can I help you today?"
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])
