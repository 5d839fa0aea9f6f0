"""The soak's summary: totals, latency percentiles, memory flatness, pass or fail."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from typing import Any

from benchmarks.soak import SoakSettings
from benchmarks.soak.parent import Collected


def slope_per_min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of ``(seconds, value)`` points, per minute (nan under 2 points)."""
    if len(points) < 2:
        return float("nan")
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    if sxx == 0:
        return float("nan")
    return sum((p[0] - mx) * (p[1] - my) for p in points) / sxx * 60


FLAT_GROWTH_PCT = 10.0


def flatness(points: list[tuple[float, float]], duration_s: float) -> dict[str, Any]:
    """Slopes over each half of the run and the growth the last half's slope implies.

    ``growth_last_half_pct`` is the last half's slope times its length, over the last
    half's mean value: how much the series grew while it should have been flat. Under
    ``FLAT_GROWTH_PCT`` counts as flat.
    """
    half = duration_s / 2
    first = [p for p in points if p[0] < half]
    last = [p for p in points if p[0] >= half]
    s1, s2 = slope_per_min(first), slope_per_min(last)
    mean_last = sum(p[1] for p in last) / len(last) if last else float("nan")
    growth = s2 * (half / 60) / mean_last * 100 if last and mean_last else float("nan")
    return {
        "start": points[0][1] if points else None,
        "mid": last[0][1] if last else None,
        "end": points[-1][1] if points else None,
        "max": max(p[1] for p in points) if points else None,
        "slope_first_half_per_min": s1,
        "slope_last_half_per_min": s2,
        "growth_last_half_pct": growth,
        "flat": bool(growth == growth and abs(growth) < FLAT_GROWTH_PCT),
    }


def summarize(settings: SoakSettings, got: Collected, server_version: str) -> dict[str, Any]:
    """The ``soak.json`` data: totals, percentiles, timeline, memory flatness."""
    from benchmarks.stats import percentile

    t0 = got.start
    step = settings.interval_s
    lat = sorted(x for r in got.reports for x in r["lat_ms"])
    done = sum(int(r["done"]) for r in got.reports)
    errors: Counter[str] = Counter()
    for r in got.reports:
        errors.update(r["errors"])
    finals = [r for r in got.reports if r.get("final")]
    last_t = max((float(r["t"]) for r in got.reports), default=t0) - t0
    wall = max(last_t, 1e-9)

    buckets: dict[int, dict[str, Any]] = {}
    for r in got.reports:
        if r.get("final"):
            continue  # calls still in flight at the deadline: in the totals, not the timeline
        # Reports are aligned on t0: the k-th report of every worker closes interval k.
        b = max(1, round((float(r["t"]) - t0) / step))
        slot = buckets.setdefault(b, {"done": 0, "errors": 0, "lat": [], "rss": {}})
        slot["done"] += int(r["done"])
        slot["errors"] += sum(r["errors"].values())
        slot["lat"] += r["lat_ms"]
        slot["rss"][r["w"]] = int(r["rss"])
    timeline = []
    for b in sorted(buckets):
        slot = buckets[b]
        ls = sorted(slot["lat"])
        timeline.append(
            {
                "t": round(b * step, 1),
                "invocations_s": slot["done"] / step,
                "p50_ms": percentile(ls, 50),
                "p99_ms": percentile(ls, 99),
                "errors": slot["errors"],
                "client_rss": sum(slot["rss"].values()),
                "workers_reporting": len(slot["rss"]),
            }
        )
    server = [{**s, "t": round(float(s["t"]) - t0, 2)} for s in got.server]
    complete = [x for x in timeline if x["workers_reporting"] == settings.workers]
    rss_points = [(float(x["t"]), float(x["client_rss"])) for x in complete]
    memory = {
        "server_used_memory": flatness(
            [(float(s["t"]), float(s["used_memory"])) for s in server], settings.duration_s
        ),
        "server_dbsize": flatness(
            [(float(s["t"]), float(s["dbsize"])) for s in server], settings.duration_s
        ),
        "client_rss_total": flatness(rss_points, settings.duration_s),
    }
    crashed = {w: c for w, c in got.exit_codes.items() if c != 0}
    return {
        "settings": {**asdict(settings), "out": str(settings.out)},
        "server": server_version,
        "store_engine": next((r.get("engine") for r in got.ready.values() if "engine" in r), None),
        "connection_bound": settings.workers * 2 * settings.pool_size,
        "summary": {
            "invocations": done,
            "wall_s": wall,
            "invocations_s": done / wall,
            "p50_ms": percentile(lat, 50),
            "p99_ms": percentile(lat, 99),
            "max_ms": lat[-1] if lat else float("nan"),
            "errors": sum(errors.values()),
            "errors_by_type": dict(errors),
            "error_samples": [s for r in finals for s in r.get("error_samples", [])],
            "workers_finished": len(finals),
            "worker_exit_codes": got.exit_codes,
            "workers_crashed": crashed,
            "max_connected_clients": max((s["connected_clients"] for s in server), default=0),
        },
        "memory": memory,
        "timeline": timeline,
        "server_samples": server,
    }


def passed(data: dict[str, Any]) -> bool:
    """No failed invocation, every worker finished and exited 0."""
    s = data["summary"]
    return bool(
        s["errors"] == 0
        and not s["workers_crashed"]
        and s["workers_finished"] == data["settings"]["workers"]
    )
