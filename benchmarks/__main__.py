"""``python -m benchmarks [--quick | --smoke] [--out DIR]``: run, then write the report.

Modes: full (the issue's sizes), ``--quick`` (fits 10 minutes on 2 cores), ``--smoke``
(tiny sizes, one engine, no peer install: the test suite runs it so it cannot rot).
``python -m benchmarks soak ...`` (or ``--soak``) runs the soak mode instead
(:mod:`benchmarks.soak`; ``python -m benchmarks soak --help``), and
``python -m benchmarks soak --chaos --minutes 20`` the chaos test's harness with new seeds
until the time is up (:mod:`benchmarks.chaos`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import asdict
from pathlib import Path

from benchmarks import report, rows
from benchmarks.runner import PARTS, Run, Settings, machine, run_all, sizes_for

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def parse(argv: list[str] | None) -> Settings:
    """Command line to :class:`Settings`."""
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="smaller sizes; under 10 minutes")
    mode.add_argument(
        "--smoke", action="store_true", help="tiny sizes, first engine only, no peers"
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    p.add_argument(
        "--engines",
        default="valkey,redis7,stack",
        help=(
            "comma-separated engines to start (one not installed is skipped, with a note); "
            "add redis8 for the vector-set engine (full mode: about 14 min more per repetition)"
        ),
    )
    p.add_argument("--parts", default=",".join(PARTS), help="comma-separated: " + ",".join(PARTS))
    p.add_argument("--no-peers", action="store_true", help="skip langgraph-checkpoint-redis")
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="repetitions of every measurement; the report shows medians (default 3, smoke 1)",
    )
    args = p.parse_args(argv)
    name = "smoke" if args.smoke else "quick" if args.quick else "full"
    engines = tuple(e for e in args.engines.split(",") if e)
    parts = tuple(x for x in args.parts.split(",") if x)
    unknown = set(parts) - set(PARTS)
    if unknown:
        p.error(f"unknown parts: {sorted(unknown)}")
    cp, st, e2e = sizes_for(name)
    return Settings(
        mode=name,
        out=args.out,
        engines=engines[:1] if args.smoke else engines,
        parts=parts,
        peers=not (args.no_peers or args.smoke),
        checkpointer=cp,
        store=st,
        e2e=e2e,
        repeats=max(1, args.repeats if args.repeats is not None else 1 if args.smoke else 3),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; the report is rewritten after each part."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("soak", "--soak"):
        if "--chaos" in args[1:]:
            from benchmarks import chaos

            return chaos.main([a for a in args[1:] if a != "--chaos"])
        from benchmarks.soak.__main__ import main as soak_main

        return soak_main(args[1:])
    settings = parse(argv)
    run = Run(settings)
    t0 = time.perf_counter()

    def write(r: Run) -> None:
        meta = {
            "mode": settings.mode,
            "machine": machine(),
            "servers": r.servers,
            "peer_versions": r.peer_versions,
            "duration_s": time.perf_counter() - t0,
            "repeats": settings.repeats,
            "sizes": {
                "checkpointer": asdict(settings.checkpointer),
                "store": asdict(settings.store),
                "e2e": asdict(settings.e2e),
            },
        }
        report.write(settings.out, meta, r.rows, r.notes)

    asyncio.run(run_all(run, write))
    from benchmarks.plots import draw_all

    write(run)
    pngs = draw_all(rows.collapse(run.rows), settings.out)
    run.log(f"wrote {settings.out}/results.json, results.md and {len(pngs)} plots")
    return 0


if __name__ == "__main__":
    sys.exit(main())
