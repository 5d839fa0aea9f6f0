# WARNING: generated from src/langgraph_redis/_async/_embed.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""Calls into the embedder (I/O), one per batch of document texts."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.embeddings import Embeddings


def embed_texts(embeddings: Embeddings, texts: Sequence[str]) -> list[list[float]]:
    """Embed every document text of a batch in one call."""
    return embeddings.embed_documents(list(texts))


def embed_query_text(embeddings: Embeddings, text: str) -> list[float]:
    """Embed one search query."""
    return embeddings.embed_query(text)
