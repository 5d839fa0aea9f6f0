"""Store benchmarks over LangGraph's ``BaseStore`` interface, at growing store sizes.

Items are loaded in batches of 100 ``PutOp`` (that load is the batch-put measurement),
server memory is read before and after each load, then single-item put (an upsert, so
the size stays put), get, filtered search and vector search (k=10) are timed at that
size. Imports no project code, so the peer worker can run it against
langgraph-checkpoint-redis's store.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from langgraph.store.base import BaseStore, PutOp

from benchmarks.stats import Sizes, Stat, measure, measure_paired, record
from benchmarks.workload import HashEmbeddings, VectorEmbeddings, store_item

MemoryFn = Callable[[], int]
BATCH = 100


@dataclass(frozen=True)
class StoreSizes(Sizes):
    """Store sizes and call counts; ``--quick`` and ``--smoke`` shrink these."""

    sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
    dims: int = 1536
    ops: int = 1000
    recall_size: int = 10_000
    """Vectors in the recall measurement (HNSW and FLAT against the exact plain engine)."""
    recall_dims: int = 384
    recall_queries: int = 200


def index_config(dims: int) -> Any:  # IndexConfig + ann_index_config (not in its TypedDict)
    """The same vector index for every subject: cosine over the ``text`` field.

    No ``ann_index_config``: each subject runs with its default index (ours: FLAT,
    exact; the issue's goals are stated for the default). The recall measurement
    builds HNSW and FLAT explicitly (:func:`recall_index_config`).
    """
    return {
        "dims": dims,
        "embed": HashEmbeddings(dims),
        "fields": ["text"],
        "distance_type": "cosine",
    }


def redis_memory(url: str) -> MemoryFn:
    """``used_memory`` reader for a Redis server (INFO memory)."""
    import redis

    def read() -> int:
        with redis.Redis.from_url(url) as conn:
            return int(conn.info("memory")["used_memory"])

    return read


async def load_items(store: BaseStore, first: int, last: int) -> Stat:
    """Put items ``first .. last`` in batches of 100; one timed call per batch."""
    starts = list(range(first, last, BATCH))

    async def put_batch(b: int) -> None:
        lo = starts[b]
        ops = [PutOp(*store_item(i)) for i in range(lo, min(lo + BATCH, last))]
        await store.abatch(ops)

    return await measure(put_batch, len(starts), 1)


@dataclass(frozen=True)
class StoreSubject:
    """One store under measurement and how: which operations, who loads its items."""

    store: BaseStore
    only: Collection[str] | None = None
    """The operations to time (default: all)."""
    loader: BaseStore | None = None
    """Loads the items instead of ``store``, untimed (the lower bound has no batch put:
    our store loads the data it then reads and writes)."""


async def bench_store(
    subjects: Mapping[str, StoreSubject],
    engine: str,
    sizes: StoreSizes,
    memory: MemoryFn | None = None,
) -> list[dict[str, Any]]:
    """Grow the stores through ``sizes.sizes``; measure every operation at each size.

    Subjects that time the same operation (ours and the lower bound, on one server)
    are measured interleaved (:func:`measure_paired`). ``memory`` reads the server's
    memory around each load of a subject that loads its own items.
    """
    rows: list[dict[str, Any]] = []
    loaded = 0
    for size in sizes.sizes:
        for subject, sub in subjects.items():
            before = memory() if memory and sub.loader is None else None
            stat = await load_items(sub.loader or sub.store, loaded, size)
            if sub.loader is not None:
                continue
            items_s = (size - loaded) / stat.wall_s
            rows.append(
                record("store", "batch_put", subject, engine, stat, size=size, items_s=items_s)
            )
            if memory is not None and before is not None:
                per_item = (memory() - before) / (size - loaded)
                rows.append(
                    {
                        "suite": "store",
                        "op": "memory",
                        "subject": subject,
                        "engine": engine,
                        "size": size,
                        "bytes_per_item": per_item,
                    }
                )
        loaded = size
        for conc in sizes.concurrency:
            for name in _OPS:
                timed = {
                    s: sub for s, sub in subjects.items() if sub.only is None or name in sub.only
                }
                if timed:
                    rows += await _measure_op(name, timed, engine, sizes, size, conc)
    return rows


async def _measure_op(
    name: str,
    subjects: Mapping[str, StoreSubject],
    engine: str,
    sizes: StoreSizes,
    size: int,
    conc: int,
) -> list[dict[str, Any]]:
    """One operation of every subject at one size and concurrency: a row per subject.

    A wrong answer is a finding, not a crash: the subject's row carries the error and
    the other subjects' figures are kept.
    """
    wrong: dict[str, str] = {}

    def checked(subject: str, store: BaseStore) -> Callable[[int], Awaitable[None]]:
        op = _OPS[name]

        async def call(i: int) -> None:
            if subject in wrong:
                return
            try:
                await op(store, size, i)
            except AssertionError as exc:
                wrong[subject] = f"{subject}: {exc}"

        return call

    ops = {s: checked(s, sub.store) for s, sub in subjects.items()}
    stats = await measure_paired(ops, sizes.ops, conc, warmup=sizes.warmup, budget_s=sizes.budget_s)
    rows: list[dict[str, Any]] = []
    for subject, stat in stats.items():
        if subject in wrong:
            rows.append(
                {
                    "suite": "store",
                    "op": name,
                    "subject": subject,
                    "engine": engine,
                    "size": size,
                    "concurrency": conc,
                    "error": wrong[subject],
                }
            )
        else:
            rows.append(record("store", name, subject, engine, stat, size=size))
    return rows


async def _put(store: BaseStore, n: int, i: int) -> None:
    ns, key, value = store_item(i % n)
    await store.aput(ns, key, value)


async def _get(store: BaseStore, n: int, i: int) -> None:
    ns, key, _ = store_item((i * 7919) % n)
    assert await store.aget(ns, key) is not None, f"item {key} missing"


async def _search_filter(store: BaseStore, n: int, i: int) -> None:
    found = await store.asearch(("bench",), filter={"color": "red"}, limit=10)
    assert len(found) == 10, f"filter search found {len(found)}"


async def _search_vector(store: BaseStore, n: int, i: int) -> None:
    found = await store.asearch(("bench",), query=f"user likes topic {i % 97}", limit=10)
    assert len(found) == 10, f"vector search found {len(found)}"


_OPS: dict[str, Callable[[BaseStore, int, int], Awaitable[None]]] = {
    "put": _put,
    "get": _get,
    "search_filter": _search_filter,
    "search_vector": _search_vector,
}


# --------------------------------------------------------------------------- recall


class ClusteredEmbeddings(VectorEmbeddings):
    """Vectors shaped like real embeddings: low rank and clustered, not uniform noise.

    Text ``"doc <i>"`` is the i-th of ``n`` document vectors, ``"query <j>"`` the j-th
    query (drawn from the same clusters, so neighbours are close and ties are many,
    which is where approximate search loses recall). Uniform random vectors in high
    dimensions are all nearly orthogonal and flatter HNSW.
    """

    def __init__(self, n: int, queries: int, dims: int, seed: int = 42) -> None:
        rng = np.random.default_rng(seed)
        rank = max(8, dims // 8)
        basis = rng.standard_normal((rank, dims))
        centres = rng.standard_normal((64, rank)) * 2.0

        def draw(m: int) -> np.ndarray[Any, Any]:
            which = rng.integers(0, len(centres), m)
            latent = centres[which] + rng.standard_normal((m, rank))
            out: np.ndarray[Any, Any] = latent @ basis + 0.1 * rng.standard_normal((m, dims))
            return out.astype(np.float32)

        self.docs = draw(n)
        self.queries = draw(queries)

    def _one(self, text: str) -> list[float]:
        kind, _, i = text.partition(" ")
        table = self.docs if kind == "doc" else self.queries
        out: list[float] = table[int(i)].tolist()
        return out


def recall_index_config(embed: ClusteredEmbeddings, algorithm: str) -> Any:  # as index_config
    return {
        "dims": embed.docs.shape[1],
        "embed": embed,
        "fields": ["text"],
        "distance_type": "cosine",
        "ann_index_config": {"algorithm": algorithm},
    }


async def bench_recall(
    subjects: Mapping[str, BaseStore],
    exact: BaseStore,
    embed: ClusteredEmbeddings,
    engine: str,
    k: int = 10,
) -> list[dict[str, Any]]:
    """recall@k of each store in ``subjects`` against ``exact`` on the same items.

    Every store gets the same ``len(embed.docs)`` items (namespace ``("recall",)``),
    then each query asks every store for its top ``k``; recall@k is the share of the
    exact top k found, averaged over the queries. Also reported: the share of queries
    whose top k (same items, same order) equals the exact one, and search p50.
    """
    n = len(embed.docs)
    ops = [PutOp(("recall",), f"d{i}", {"text": f"doc {i}"}) for i in range(n)]
    for store in (*subjects.values(), exact):
        for lo in range(0, n, 1000):
            await store.abatch(ops[lo : lo + 1000])
    truth: list[list[str]] = []
    for j in range(len(embed.queries)):
        found = await exact.asearch(("recall",), query=f"query {j}", limit=k)
        truth.append([i.key for i in found])
    rows: list[dict[str, Any]] = []
    for name, store in subjects.items():
        hits = 0
        same = 0
        times: list[float] = []
        for j, want in enumerate(truth):
            t0 = time.perf_counter()
            found = await store.asearch(("recall",), query=f"query {j}", limit=k)
            times.append(time.perf_counter() - t0)
            got = [i.key for i in found]
            hits += len(set(got) & set(want))
            same += got == want
        rows.append(
            {
                "suite": "store",
                "op": "recall",
                "subject": name,
                "engine": engine,
                "size": n,
                "dims": int(embed.docs.shape[1]),
                "queries": len(truth),
                "k": k,
                "recall": hits / (k * len(truth)),
                "identical": same / len(truth),
                "p50_ms": float(np.median(times) * 1000),
            }
        )
    return rows
