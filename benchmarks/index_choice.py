"""HNSW vs FLAT on the query engine: load rate, search p50 and agreement, 10k and 100k.

``python -m benchmarks.index_choice`` starts a Redis Stack server, loads the same items
(1,536-dim hash embeddings, batches of 100) into one store per algorithm, measures the
batch load rate and the search p50 at 1 task at each size, and how many of HNSW's top
10 FLAT (exact) also returns. docs/engines.md quotes its output (the default index).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from benchmarks.stats import measure
from benchmarks.store import load_items
from benchmarks.workload import HashEmbeddings
from langgraph_redis import AsyncRedisStore
from tests.servers import start_server

DIMS = 1536
SIZES = (10_000, 100_000)


def _config(algorithm: str) -> Any:
    return {
        "dims": DIMS,
        "embed": HashEmbeddings(DIMS),
        "fields": ["text"],
        "distance_type": "cosine",
        "ann_index_config": {"algorithm": algorithm},
    }


async def compare(url: str, sizes: tuple[int, ...] = SIZES, queries: int = 100) -> dict[str, Any]:
    out: dict[str, Any] = {}
    stores = {
        algo: AsyncRedisStore(url, index=_config(algo), prefix=f"ix{algo}{uuid.uuid4().hex[:4]}")
        for algo in ("flat", "hnsw")
    }
    try:
        for store in stores.values():
            await store.asetup()
        loaded = 0
        for size in sizes:
            for algo, store in stores.items():
                stat = await load_items(store, loaded, size)

                async def search(i: int, s: AsyncRedisStore = store) -> None:
                    found = await s.asearch(
                        ("bench",), query=f"user likes topic {i % 97}", limit=10
                    )
                    assert len(found) == 10

                got = await measure(search, 300, 1, warmup=10, budget_s=15)
                out[f"{algo}@{size}"] = {
                    "load_items_s": round((size - loaded) / stat.wall_s),
                    "p50_ms": round(got.p50_ms, 2),
                    "p99_ms": round(got.p99_ms, 2),
                }
                print(algo, size, out[f"{algo}@{size}"], flush=True)
            loaded = size
            hits = same = 0
            for j in range(queries):
                q = f"what about topic {j} and more {j * 7}"
                exact = [i.key for i in await stores["flat"].asearch(("bench",), query=q, limit=10)]
                approx = [
                    i.key for i in await stores["hnsw"].asearch(("bench",), query=q, limit=10)
                ]
                hits += len(set(exact) & set(approx))
                same += exact == approx
            out[f"recall@{size}"] = {
                "hnsw_recall10_vs_flat": hits / (10 * queries),
                "identical": same / queries,
            }
            print(size, out[f"recall@{size}"], flush=True)
    finally:
        for store in stores.values():
            await store.aclose()
    return out


def main() -> None:
    with start_server("stack") as server:
        print(json.dumps(asyncio.run(compare(server.url))))


if __name__ == "__main__":
    main()
