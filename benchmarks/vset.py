"""The vector-set engine beside the plain engine, on Redis 8 (issue 12).

``python -m benchmarks.vset [--quick] [--out results-vset.json]`` starts a Redis 8
server and a 3-master Redis 8 cluster (``tests.servers``; built or reused by
``scripts/setup.sh``), and measures:

* **engines**: batch put throughput (batches of 100), p50/p99 of k=10 search and the
  searching client's RSS at 10k and 100k items, for the vector-set engine (FLAT, i.e.
  ``VSIM ... TRUTH``, and HNSW, the default) and the plain engine;
* **recall**: recall@10 against the exact plain engine on clustered low-rank vectors,
  for FLAT (exact: 1.0), HNSW at ``ef_runtime`` 10 and 100, and Q8/BIN quantization;
* **cluster**: 1,000 per-user namespaces on the 3-master cluster, per-user searches at
  concurrency 32, and the searching client's RSS as the store grows 10k -> 100k.

Vectors have 384 dimensions, not 1,536: the machine this runs on has 2 cores shared
with other jobs, and 100k x 1,536 would take minutes per subject to load (the server
builds the HNSW graph on insert) and 614 MB of client memory for the plain engine's
snapshot of one prefix. Search cost grows linearly with dimensions on every engine.

Client RSS is measured in a fresh process that only searches (``_search_rss``), so the
loader's memory is not counted: the vector-set engine keeps no vectors in the client,
the plain engine keeps a snapshot of every namespace it searches.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import time
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from langgraph.store.base import PutOp

from benchmarks.stats import measure, record
from benchmarks.store import ClusteredEmbeddings, bench_recall
from langgraph_redis import AsyncRedisStore, RedisStore

BATCH = 100
PLAIN_CACHE = 2**30
"""The plain engine's snapshot cap in these runs (its default, 128 MiB, is below a 100k x
384 prefix: every search would then re-read the prefix). Measured at its real cost."""


class _Table(Embeddings):
    """Vectors by text, for a process that must not build the whole data set."""

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.table[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.table[text]


def _index(embed: Embeddings, dims: int, **ann: Any) -> Any:
    return {
        "dims": dims,
        "embed": embed,
        "fields": ["text"],
        "ann_index_config": {"algorithm": "hnsw", **ann},
    }


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _search_rss(
    url: str,
    prefix: str,
    engine: str,
    dims: int,
    queries: list[list[float]],
    spaces: list[Any],
    algo: str,
) -> tuple[int, int]:
    """In a fresh process: RSS (kB) after setup, and after searching each namespace
    prefix of ``spaces`` with every query (the searching client's memory)."""
    table = {f"q{i}": q for i, q in enumerate(queries)}
    choice: Any = engine
    store = RedisStore(
        url,
        index=_index(_Table(table), dims, algorithm=algo),
        prefix=prefix,
        engine=choice,
        snapshot_cache_bytes=PLAIN_CACHE,
    )
    store.setup()
    base = _rss_kb()
    for ns in spaces:
        for name in table:
            store.search(tuple(ns), query=name, limit=10)
    after = _rss_kb()
    store.close()
    return base, after


def client_rss(
    url: str,
    prefix: str,
    engine: str,
    dims: int,
    queries: np.ndarray[Any, Any],
    spaces: Sequence[Any],
    algo: str = "hnsw",
) -> tuple[int, int]:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        base, after = pool.apply(
            _search_rss,
            (
                url,
                prefix,
                engine,
                dims,
                [q.tolist() for q in queries],
                [list(s) for s in spaces],
                algo,
            ),
        )
    return int(base), int(after)


async def _load(
    store: AsyncRedisStore, embed: ClusteredEmbeddings, lo: int, hi: int, ns_of: Any
) -> float:
    """Put docs ``lo .. hi`` in batches of 100; returns items/s."""
    t0 = time.perf_counter()
    for b in range(lo, hi, BATCH):
        await store.abatch(
            [
                PutOp(ns_of(i), f"d{i}", {"text": f"doc {i}", "n": i})
                for i in range(b, min(b + BATCH, hi))
            ]
        )
    return (hi - lo) / (time.perf_counter() - t0)


async def bench_engines(
    url: str,
    sizes: Sequence[int],
    dims: int,
    n_search: int,
    only: Sequence[str] = (),
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    embed = ClusteredEmbeddings(max(sizes), 50, dims)
    subjects = [
        ("vset FLAT", "vset", "flat"),
        ("vset HNSW", "vset", "hnsw"),
        ("plain", "plain", "flat"),
    ]
    for subject, engine, algo in subjects:
        if only and subject not in only:
            continue
        prefix = f"bv{uuid.uuid4().hex[:8]}"
        store = AsyncRedisStore(
            url,
            index=_index(embed, dims, algorithm=algo),
            prefix=prefix,
            engine=engine,  # type: ignore[arg-type]
            snapshot_cache_bytes=PLAIN_CACHE,
        )
        await store.asetup()
        loaded = 0
        for size in sizes:
            rate = await _load(store, embed, loaded, size, lambda i: ("bench",))
            loaded = size

            async def search(i: int, store: AsyncRedisStore = store) -> None:
                found = await store.asearch(("bench",), query=f"query {i % 50}", limit=10)
                assert len(found) == 10

            stat = await measure(search, n_search, 1, warmup=5, budget_s=60)
            base, after = client_rss(
                url, prefix, engine, dims, embed.queries[:20], [("bench",)], algo
            )
            rows.append(
                record(
                    "vset",
                    "search_k10",
                    subject,
                    "redis8",
                    stat,
                    size=size,
                    dims=dims,
                    batch_put_items_s=rate,
                    client_rss_mb=after / 1024,
                    client_rss_growth_mb=(after - base) / 1024,
                )
            )
            print(json.dumps(rows[-1]), flush=True)
        await store.aclose()
    return rows


async def bench_vset_recall(url: str, n: int, dims: int, queries: int) -> list[dict[str, Any]]:
    embed = ClusteredEmbeddings(n, queries, dims)
    variants = {
        "vset FLAT (TRUTH)": {"algorithm": "flat"},
        "vset HNSW ef 10": {"algorithm": "hnsw"},
        "vset HNSW ef 100": {"algorithm": "hnsw", "ef_runtime": 100},
        "vset HNSW Q8": {"algorithm": "hnsw", "quantization": "q8", "ef_runtime": 100},
        "vset HNSW BIN": {"algorithm": "hnsw", "quantization": "bin", "ef_runtime": 100},
    }
    stores: dict[str, Any] = {}
    for name, ann in variants.items():
        idx: Any = {"dims": dims, "embed": embed, "fields": ["text"], "ann_index_config": ann}
        stores[name] = AsyncRedisStore(
            url, index=idx, prefix=f"br{uuid.uuid4().hex[:8]}", engine="vset"
        )
    exact_idx: Any = {
        "dims": dims,
        "embed": embed,
        "fields": ["text"],
        "ann_index_config": {"algorithm": "flat"},
    }
    exact = AsyncRedisStore(
        url, index=exact_idx, prefix=f"bx{uuid.uuid4().hex[:8]}", engine="plain"
    )
    try:
        rows = await bench_recall(stores, exact, embed, "redis8")
    finally:
        for s in (*stores.values(), exact):
            await s.aclose()
    for row in rows:
        print(json.dumps(row), flush=True)
    return rows


async def bench_cluster(
    url: str, users: int, per_user: int, dims: int, n_search: int
) -> list[dict[str, Any]]:
    """Per-user namespaces on the cluster: searches at concurrency 32 and client RSS at
    10% and 100% of the data (the same client code, a store ten times larger)."""
    rows: list[dict[str, Any]] = []
    total = users * per_user
    embed = ClusteredEmbeddings(total, 50, dims)
    prefix = f"bc{uuid.uuid4().hex[:8]}"
    store = AsyncRedisStore(url, index=_index(embed, dims), prefix=prefix)
    await store.asetup()
    assert store.engine == "vset", store.engine

    def ns_of(i: int) -> tuple[str, ...]:
        return ("memories", f"user{i % users}")

    loaded = 0
    for share in (10, 1):
        size = total // share
        rate = await _load(store, embed, loaded, size, ns_of)
        loaded = size

        async def search(i: int) -> None:
            await store.asearch(ns_of(i * 7919), query=f"query {i % 50}", limit=10)

        stat = await measure(search, n_search, 32, warmup=32)
        spaces = [ns_of(j) for j in range(0, users, max(1, users // 50))]
        base, after = client_rss(url, prefix, "vset", dims, embed.queries[:5], spaces)
        # One search over all 1,000 namespaces: its transient memory is namespaces x k
        # hits, whatever the store's size.
        _, wide = client_rss(url, prefix, "vset", dims, embed.queries[:5], [("memories",)])
        rows.append(
            record(
                "vset",
                "cluster_per_user_search",
                "vset HNSW",
                "redis8-cluster",
                stat,
                size=size,
                dims=dims,
                namespaces=users,
                batch_put_items_s=rate,
                client_rss_mb=after / 1024,
                client_rss_growth_mb=(after - base) / 1024,
                client_rss_after_all_namespaces_search_mb=wide / 1024,
            )
        )
        print(json.dumps(rows[-1]), flush=True)
    await store.aclose()
    return rows


def main() -> None:
    from tests.servers import start_cluster, start_server

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k/10k items, fewer queries")
    parser.add_argument("--out", default="results-vset.json")
    parser.add_argument("--parts", default="engines,recall,cluster")
    parser.add_argument("--subjects", default="", help="engines part: e.g. 'plain,vset HNSW'")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    sizes = (1_000, 10_000) if args.quick else (10_000, 100_000)
    dims = 384
    rows: list[dict[str, Any]] = []
    server = start_server("redis8")
    try:
        if "engines" in parts:
            only = [x for x in args.subjects.split(",") if x]
            rows += asyncio.run(
                bench_engines(server.url, sizes, dims, 100 if args.quick else 300, only)
            )
        if "recall" in parts:
            rows += asyncio.run(
                bench_vset_recall(server.url, sizes[0], dims, 20 if args.quick else 200)
            )
    finally:
        server.stop()
    if "cluster" in parts:
        cluster = start_cluster("redis8", masters=3, replicas_per_master=0)
        try:
            users = 100 if args.quick else 1000
            rows += asyncio.run(
                bench_cluster(cluster.url, users, 100, dims, 500 if args.quick else 2000)
            )
        finally:
            cluster.stop()
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
