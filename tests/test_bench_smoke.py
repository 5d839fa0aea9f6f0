"""The benchmark suite runs end to end at tiny sizes, so it cannot rot unnoticed.

Runs ``python -m benchmarks --smoke`` in a subprocess against one server (``REDIS_URL``
set to the fixture's URL, so the suite starts nothing) and checks that the JSON, the
markdown and the PNG plots are produced and well-formed. No timing is asserted: timings
belong to the benchmarks.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import ENGINES
from tests.subprocesses import run_python

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("engine", ENGINES[:1])
def test_bench_smoke(redis_url: str, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    # Every leaked connection prints a ResourceWarning (Python hides them by default).
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "MPLBACKEND": "Agg",
        "PYTHONWARNINGS": "always::ResourceWarning",
    }
    proc = run_python("-m", "benchmarks", "--smoke", "--out", str(tmp_path), env=env, timeout=110)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "ResourceWarning" not in proc.stderr, proc.stderr[-4000:]

    data = json.loads((tmp_path / "results.json").read_text())
    assert set(data) >= {"meta", "rows", "ratios", "targets", "notes"}
    rows = data["rows"]
    ours = {
        r["op"] for r in rows if r["subject"] == "langgraph-redis" and r["suite"] == "checkpointer"
    }
    assert ours == {"put", "put_writes", "get_tuple", "list"}
    subjects = {r["subject"] for r in rows if r["suite"] == "checkpointer"}
    assert {"lower-bound", "InMemorySaver", "SqliteSaver"} <= subjects
    assert any(r["suite"] == "history" for r in rows)
    for row in rows:
        if "ops_s" in row:
            assert row["n"] > 0 and row["ops_s"] > 0 and row["p99_ms"] >= row["p50_ms"] > 0
    store_ops = {
        r["op"] for r in rows if r["subject"] == "langgraph-redis" and r["suite"] == "store"
    }
    assert {"batch_put", "memory", "put", "get", "search_filter", "search_vector"} <= store_ops
    assert any(r["suite"] == "e2e" and r["subject"] == "langgraph-redis" for r in rows)
    assert all(t["status"] in {"met", "MISSED", "not measured"} for t in data["targets"])
    assert any(r["versus"] == "lower-bound" for r in data["ratios"])

    md = (tmp_path / "results.md").read_text()
    assert md.startswith("# langgraph-redis benchmark results (smoke mode)")
    assert "## Targets" in md and "## Checkpointer" in md and "| langgraph-redis @ env |" in md

    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert {
        "latency_by_operation.png",
        "throughput_by_concurrency.png",
        "cost_by_history.png",
    } <= set(pngs)
    for name in pngs:
        assert (tmp_path / name).read_bytes()[:8] == PNG_MAGIC


@pytest.mark.timeout(120)
@pytest.mark.parametrize("engine", ENGINES[:1])
def test_storage_bench_smoke(redis_url: str, tmp_path: Path) -> None:
    """``python -m benchmarks.storage`` (issue 14) at tiny sizes: JSON, table and plot."""
    pytest.importorskip("matplotlib")
    env = {**os.environ, "REDIS_URL": redis_url, "MPLBACKEND": "Agg"}
    proc = run_python(
        *("-m", "benchmarks.storage", "--steps", "12", "--threads", "1"),
        *("--no-peers", "--out", str(tmp_path)),
        timeout=110,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads((tmp_path / "storage.json").read_text())["rows"]
    assert {r["subject"] for r in rows} == {"langgraph-redis", "lower-bound"}
    assert {(r["kind"], r["steps"]) for r in rows} >= {("bytes", 10), ("put", 10), ("get", 10)}
    assert (tmp_path / "storage.png").read_bytes().startswith(PNG_MAGIC)
    assert "| put at 10 |" in proc.stdout
