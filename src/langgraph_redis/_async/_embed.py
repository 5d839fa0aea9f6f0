"""Calls into the embedder (I/O), one per batch of document texts."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.embeddings import Embeddings


async def embed_texts(embeddings: Embeddings, texts: Sequence[str]) -> list[list[float]]:
    """Embed every document text of a batch in one call."""
    return await embeddings.aembed_documents(list(texts))  # sync: skip
    # sync: return embeddings.embed_documents(list(texts))


async def embed_query_text(embeddings: Embeddings, text: str) -> list[float]:
    """Embed one search query."""
    return await embeddings.aembed_query(text)  # sync: skip
    # sync: return embeddings.embed_query(text)
