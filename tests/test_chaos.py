"""Chaos test: savers (full, shallow, TTL) and store from two processes under
cancellations, concurrent writers, TTL expiry, a server restart and an index drop,
checked against LangGraph's ``InMemorySaver``/``InMemoryStore`` (harness:
:mod:`tests.chaos_check`, :mod:`tests.chaos`, :mod:`tests.chaos_oracle`).

Seed: ``CHAOS_SEED`` (default fixed, so CI is reproducible); a failure prints it with the
command that replays the same workload. What each case covers:

* ``valkey``, ``redis7``: dedicated server with AOF (``appendfsync always``): cancellations,
  two writers on the same threads and namespaces, TTL expiry, SIGKILL + restart.
* ``stack``: the same with the query engine, plus ``FT.DROPINDEX`` in another phase.
* ``valkey-cluster``: the shared local 3+3 cluster: cancellations, concurrent writers, TTL
  expiry (no restart: killing a cluster node is a failover, covered by ``test_faults``).

The longer mode is ``python -m benchmarks soak --chaos --minutes 20``.
Each run writes ``.cache/chaos/<case>.json`` (figures for docs/reliability.md).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import pytest

from tests.chaos_check import DEFAULT_SEED, run_chaos
from tests.servers import Engine, require_engine, start_server
from tests.subprocesses import run_python

pytestmark = pytest.mark.faults

CASES = ["valkey", "redis7", "stack", "valkey-cluster"]
AOF = ["--appendonly", "yes", "--appendfsync", "always", "--enable-debug-command", "yes"]
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / ".cache" / "chaos"  # not .cache/reliability: its *.json are fault reports


def chaos_seed() -> int:
    return int(os.environ.get("CHAOS_SEED") or DEFAULT_SEED)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", CASES)
async def test_chaos(case: str) -> None:
    seed = chaos_seed()
    if case.endswith("-cluster"):
        from tests.topology import shared_cluster

        cluster = shared_cluster("valkey")
        result = await run_chaos(case, cluster.url, seed)
    else:
        engine: Engine = case  # type: ignore[assignment]
        require_engine(engine)
        with start_server(engine, extra_args=AOF) as server:
            result = await run_chaos(
                case, server.url, seed, server=server, search=engine == "stack"
            )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{case}.json").write_text(json.dumps(asdict(result), indent=1, default=str))
    print(result.describe(limit=5))
    assert not result.disagreements, result.describe()


@pytest.mark.timeout(150)
def test_chaos_soak_mode_runs(tmp_path: Path) -> None:
    """``python -m benchmarks soak --chaos`` end to end at a tiny size, so it cannot rot:
    it runs the harness, writes chaos.json/chaos.md and exits 1 exactly when a run
    disagreed with the oracle (this test does not judge the library: test_chaos does)."""
    require_engine("valkey")
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    argv = ["--runs", "1", "--engines", "valkey", "--phases", "2", "--ops", "5", "--seed", "7"]
    out = ["--out", str(tmp_path)]
    proc = run_python("-m", "benchmarks", "soak", "--chaos", *argv, *out, env=env, timeout=140)
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-4000:]
    data = json.loads((tmp_path / "chaos.json").read_text())
    (run,) = data["runs"]
    assert run["target"] == "valkey" and run["seed"] == 7
    assert sum(run["ops"].values()) == 2 * 2 * 3 * 5  # workers x phases x tasks x ops
    assert any("restart" in f for f in run["faults"]) and any("TTL" in f for f in run["faults"])
    assert (proc.returncode == 1) == bool(run["disagreements"])
    assert "| valkey | 1 | 60 |" in (tmp_path / "chaos.md").read_text()
