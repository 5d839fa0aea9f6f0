"""The soak mode runs end to end at a tiny size, so it cannot rot unnoticed.

Runs ``python -m benchmarks soak`` with two workers and twenty threads for five seconds in
a subprocess against one server (``REDIS_URL`` set to the fixture's URL, so nothing is
started) and checks that ``soak.json`` and ``soak.md`` are written, no invocation failed
and every worker finished. No timing is asserted: timings belong to the benchmarks.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

from tests.conftest import ENGINES
from tests.subprocesses import run_python

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("engine", ENGINES[:1])
def test_soak_smoke(redis_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "REDIS_URL": redis_url, "MPLBACKEND": "Agg"}
    argv = ["--workers", "2", "--threads", "20", "--duration", "5", "--ttl-minutes", "0.1"]
    more = ["--dims", "64", "--interval", "1", "--out", str(tmp_path)]
    proc = run_python("-m", "benchmarks", "soak", *argv, *more, env=env, timeout=55)
    logs = "".join(p.read_text() for p in sorted(tmp_path.glob("soak_worker*.log")))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:] + logs[-4000:]

    data = json.loads((tmp_path / "soak.json").read_text())
    summary = data["summary"]
    assert summary["errors"] == 0, summary["error_samples"]
    assert summary["workers_finished"] == 2 and not summary["workers_crashed"]
    assert summary["invocations"] > 0 and summary["p99_ms"] >= summary["p50_ms"] > 0
    assert data["settings"]["workers"] == 2 and data["settings"]["threads"] == 20
    assert data["timeline"] and data["server_samples"]
    assert set(data["memory"]) == {"server_used_memory", "server_dbsize", "client_rss_total"}
    assert all(x["client_rss"] > 0 for x in data["timeline"])

    md = (tmp_path / "soak.md").read_text()
    assert md.startswith("## Soak") and "| invocations |" in md and "server `used_memory`" in md
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "soak_memory.png").read_bytes()[:8] == PNG_MAGIC
