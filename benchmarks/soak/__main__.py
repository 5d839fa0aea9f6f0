"""``python -m benchmarks soak ...``: parse the command line, run a soak, write its report."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

from benchmarks import soak
from benchmarks.soak import DEFAULT_OUT, MAX_DURATION_S, SoakSettings
from benchmarks.soak.analysis import passed, summarize
from benchmarks.soak.parent import launch
from benchmarks.soak.report import soak_markdown


def parse(argv: list[str] | None) -> SoakSettings:
    """Command line to :class:`SoakSettings`."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks soak", description=(soak.__doc__ or "").splitlines()[0]
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    p.add_argument("--engine", default="valkey", help="valkey, redis7 or stack (or REDIS_URL)")
    p.add_argument(
        "--saver",
        choices=("full", "shallow"),
        default="full",
        help="AsyncRedisSaver (every checkpoint) or AsyncShallowRedisSaver (latest only)",
    )
    p.add_argument("--workers", type=int, default=4, help="worker processes (default 4)")
    p.add_argument("--threads", type=int, default=1000, help="conversation threads in all")
    p.add_argument("--users", type=int, default=0, help="users (default threads / 4)")
    p.add_argument("--duration", type=float, default=120.0, help="seconds (max 1800)")
    p.add_argument("--pool-size", type=int, default=16, help="connections per saver and store")
    p.add_argument("--pool-timeout", type=float, default=20.0, help="seconds to wait for one")
    p.add_argument("--ttl-minutes", type=float, default=1.0, help="TTL; 0 turns it off")
    p.add_argument("--dims", type=int, default=1536, help="embedding dimensions")
    p.add_argument("--interval", type=float, default=0.0, help="report/sample seconds")
    args = p.parse_args(argv)
    if not 1 <= args.workers <= 64:
        p.error("--workers must be 1..64")
    if args.threads < args.workers:
        p.error("--threads must be at least --workers")
    if not 0 < args.duration <= MAX_DURATION_S:
        p.error(f"--duration must be in (0, {MAX_DURATION_S:.0f}] seconds")
    if args.pool_size < 1 or args.ttl_minutes < 0 or args.dims < 1:
        p.error("--pool-size and --dims must be positive, --ttl-minutes not negative")
    interval = args.interval or max(1.0, min(5.0, args.duration / 36))
    return SoakSettings(
        out=args.out,
        engine=args.engine,
        saver=args.saver,
        workers=args.workers,
        threads=args.threads,
        users=args.users or max(1, args.threads // 4),
        duration_s=args.duration,
        pool_size=args.pool_size,
        pool_timeout_s=args.pool_timeout,
        ttl_minutes=args.ttl_minutes,
        dims=args.dims,
        interval_s=interval,
    )


def main(argv: list[str] | None = None) -> int:
    """Run a soak, write ``soak.json``, ``soak.md`` and the plot; 1 on any error."""
    from benchmarks import servers

    settings = parse(argv)
    out = settings.out
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    t0 = time.time()
    print(
        f"soak: {settings.workers} workers x {settings.threads // settings.workers} threads, "
        f"{settings.duration_s:.0f} s, pool {settings.pool_size}, "
        f"TTL {settings.ttl_minutes} min on {os.environ.get('REDIS_URL') or settings.engine}",
        flush=True,
    )
    with servers.targets([settings.engine], notes) as tgts:
        if not tgts:
            print("no server: " + "; ".join(notes), file=sys.stderr)
            return 2
        target = tgts[0]
        got = asyncio.run(launch(settings, target.url, out))
        data = summarize(settings, got, target.version)
    data["notes"] = notes
    data["run_s"] = time.time() - t0
    (out / "soak.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
    png: Path | None = None
    try:
        from benchmarks.plots import soak_memory
    except ImportError as exc:  # matplotlib is a bench extra
        notes.append(f"no plot: {exc}")
    else:
        png = soak_memory(data, out)
    (out / "soak.md").write_text(soak_markdown(data, png.name if png else None))
    s = data["summary"]
    print(
        f"soak: {s['invocations']} invocations, {s['invocations_s']:.0f}/s, "
        f"p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms, errors {s['errors']}; "
        f"wrote {out}/soak.json, soak.md" + (f", {png.name}" if png else ""),
        flush=True,
    )
    return 0 if passed(data) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
