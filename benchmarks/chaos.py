"""Chaos soak: the chaos test's harness run again and again with new seeds.

``python -m benchmarks soak --chaos [--minutes 20] [--engines valkey,redis7,stack]
[--cluster] [--runs N] [--seed S] [--out DIR]``

Starts one server per engine (AOF with ``appendfsync always``, so the restart fault may
not lose acknowledged writes; ``DEBUG`` enabled for the expiry fault) and, with
``--cluster``, a local 3+3 Valkey cluster; then runs :func:`tests.chaos_check.run_chaos`
round-robin over them, each run with the next seed, until ``--minutes`` have passed (or
``--runs`` runs are done). Every run is the CI test's workload (two worker processes,
cancellations, concurrent writers, TTL expiry, SIGKILL + restart, ``FT.DROPINDEX`` on the
query engine) at the CI size unless ``--phases``/``--ops`` say otherwise.

Writes ``chaos.json`` (every run) and ``chaos.md`` (per target: runs, operations,
faults, errors surfaced, disagreements by kind, the seeds that disagreed) and exits 1
when any run disagreed with the oracle. Replay one run with ``CHAOS_SEED=<seed> pytest
tests/test_chaos.py -k <target>`` (same workload; fault timing is not replayed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path(__file__).resolve().parent / "results"
AOF = ["--appendonly", "yes", "--appendfsync", "always", "--enable-debug-command", "yes"]


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks soak --chaos", description=__doc__.splitlines()[0]
    )
    p.add_argument("--minutes", type=float, default=20.0, help="run for this long (default 20)")
    p.add_argument("--runs", type=int, default=0, help="stop after this many runs instead")
    p.add_argument("--engines", default="valkey,redis7,stack", help="comma-separated engines")
    p.add_argument("--cluster", action="store_true", help="also a local valkey cluster")
    p.add_argument("--seed", type=int, default=0, help="first seed (default: random)")
    p.add_argument("--phases", type=int, default=0, help="phases per run (default: CI's)")
    p.add_argument("--ops", type=int, default=0, help="operations per task and phase")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    args = p.parse_args(argv)
    if args.minutes <= 0 and args.runs <= 0:
        p.error("give --minutes > 0 or --runs > 0")
    return args


@contextlib.contextmanager
def targets(engines: list[str], cluster: bool) -> Iterator[list[dict[str, Any]]]:
    """Servers we start (stopped by pid on exit), or ``REDIS_URL`` alone."""
    from tests.servers import start_cluster, start_server

    url = os.environ.get("REDIS_URL")
    if url:
        yield [{"target": "env", "url": url, "server": None, "search": False}]
        return
    with contextlib.ExitStack() as stack:
        out: list[dict[str, Any]] = []
        for engine in engines:
            server = stack.enter_context(start_server(engine, extra_args=AOF))  # type: ignore[arg-type]
            out.append(
                {"target": engine, "url": server.url, "server": server, "search": engine == "stack"}
            )
        if cluster:
            nodes = stack.enter_context(start_cluster("valkey"))
            out.append(
                {"target": "valkey-cluster", "url": nodes.url, "server": None, "search": False}
            )
        yield out


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per target: runs, operations, faults, errors surfaced, disagreements by kind."""
    per: dict[str, dict[str, Any]] = {}
    for r in results:
        t = per.setdefault(
            r["target"],
            {
                "runs": 0,
                "operations": 0,
                "faults": Counter(),
                "errors_surfaced": Counter(),
                "disagreements": Counter(),
                "lost": 0,
                "hidden": 0,
                "seeds_disagreeing": [],
            },
        )
        t["runs"] += 1
        t["operations"] += sum(r["ops"].values())
        t["faults"].update(f.split(": ", 1)[1] for f in r["faults"])
        t["errors_surfaced"].update(r["errors_surfaced"])
        t["disagreements"].update(d["kind"] for d in r["disagreements"])
        t["lost"] += r["lost"]
        t["hidden"] += r["hidden"]
        if r["disagreements"]:
            t["seeds_disagreeing"].append(r["seed"])
    return {
        k: {**v, **{c: dict(v[c]) for c in ("faults", "errors_surfaced", "disagreements")}}
        for k, v in per.items()
    }


def markdown(summary: dict[str, Any], minutes: float) -> str:
    lines = [
        f"## Chaos soak ({minutes:.1f} min)",
        "",
        "| target | runs | operations | faults injected | errors surfaced | disagreements | lost | hidden | seeds that disagreed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for target, s in summary.items():
        faults = ", ".join(f"{k} x{v}" for k, v in s["faults"].items()) or "-"
        errors = ", ".join(f"{k} x{v}" for k, v in s["errors_surfaced"].items()) or "0"
        kinds = ", ".join(f"{k} x{v}" for k, v in s["disagreements"].items()) or "0"
        seeds = ", ".join(map(str, s["seeds_disagreeing"][:10])) or "-"
        lines.append(
            f"| {target} | {s['runs']} | {s['operations']} | {faults} | {errors} | {kinds} "
            f"| {s['lost']} | {s['hidden']} | {seeds} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """Run chaos rounds until the time (or run count) is up; 1 if any run disagreed."""
    from tests.chaos_check import ChaosSettings, run_chaos

    args = parse(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    # SIGTERM unwinds like Ctrl-C, so the servers started below are stopped (by pid).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    defaults = ChaosSettings()
    settings = ChaosSettings(
        phases=args.phases or defaults.phases,
        tasks=defaults.tasks,
        ops=args.ops or defaults.ops,
        cancel_p=defaults.cancel_p,
    )
    seed = args.seed or random.SystemRandom().randrange(1, 2**31)
    engines = [e for e in args.engines.split(",") if e]
    results: list[dict[str, Any]] = []
    started = time.monotonic()
    deadline = started + args.minutes * 60 if args.minutes > 0 else float("inf")
    with targets(engines, args.cluster) as tgts:
        while time.monotonic() < deadline and not (args.runs and len(results) >= args.runs):
            t = tgts[len(results) % len(tgts)]
            result = asyncio.run(
                run_chaos(
                    t["target"],
                    t["url"],
                    seed,
                    server=t["server"],
                    search=t["search"],
                    settings=settings,
                )
            )
            results.append(asdict(result))
            kinds = Counter(d["kind"] for d in result.disagreements)
            print(
                f"chaos run {len(results)} {t['target']} seed {seed}: "
                f"{sum(result.ops.values())} ops, faults {len(result.faults)}, "
                f"errors surfaced {sum(result.errors_surfaced.values())}, "
                f"disagreements {dict(kinds) or 0} ({result.seconds:.1f} s)",
                flush=True,
            )
            seed += 1
    minutes = (time.monotonic() - started) / 60
    summary = summarize(results)
    data = {"minutes": minutes, "settings": asdict(settings), "summary": summary, "runs": results}
    (args.out / "chaos.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
    (args.out / "chaos.md").write_text(markdown(summary, minutes))
    bad = sum(len(r["disagreements"]) for r in results)
    print(
        f"chaos soak: {len(results)} runs in {minutes:.1f} min, {bad} disagreements; "
        f"wrote {args.out}/chaos.json, chaos.md",
        flush=True,
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
