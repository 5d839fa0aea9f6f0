"""The vector-set benchmark (``python -m benchmarks.vset``) runs at tiny sizes on Redis 8,
standalone and on the 3-master cluster, and its exact setting has recall 1.0.

No timing is asserted; the searching client's RSS is measured in a fresh process, so the
rows must carry it.
"""

from __future__ import annotations

import asyncio

import pytest

from benchmarks.vset import bench_cluster, bench_engines, bench_vset_recall
from tests.topology import CLUSTER_ENGINES, shared_cluster


@pytest.mark.timeout(300)
def test_vset_benchmark_smoke(redis_url: str, engine: str) -> None:
    if engine != "redis8":
        pytest.skip("vector sets need Redis 8")
    rows = asyncio.run(bench_engines(redis_url, (150, 300), 16, 10))
    assert {r["subject"] for r in rows} == {"vset FLAT", "vset HNSW", "plain"}
    assert all(r["client_rss_mb"] > 0 and r["batch_put_items_s"] > 0 for r in rows)
    recall = {
        r["subject"]: r["recall"] for r in asyncio.run(bench_vset_recall(redis_url, 300, 16, 8))
    }
    assert recall["vset FLAT (TRUTH)"] == 1.0  # exact settings: the exact engine's top 10
    assert set(recall) >= {"vset HNSW ef 10", "vset HNSW Q8", "vset HNSW BIN"}
    if "redis8" in CLUSTER_ENGINES:
        url = shared_cluster("redis8").url
        rows = asyncio.run(bench_cluster(url, 10, 20, 16, 40))
        assert [r["size"] for r in rows] == [20, 200]
        assert all(r["n"] == 40 and r["engine"] == "redis8-cluster" for r in rows)
