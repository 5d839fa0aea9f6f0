"""``soak.md``: totals, memory flatness, throughput and memory over time."""

from __future__ import annotations

import math
from typing import Any

from benchmarks.report import fmt_value, md_table
from benchmarks.rows import NA


def _mb(x: float | None) -> str:
    return NA if x is None or math.isnan(x) else f"{x / 2**20:,.1f} MB"


def _count(x: float | None) -> str:
    return NA if x is None or math.isnan(x) else f"{x:,.0f}"


def _per_min(text: str) -> str:
    return text if text == NA else text + "/min"


def soak_markdown(data: dict[str, Any], png: str | None) -> str:
    """The ``soak.md`` section: totals, memory flatness, throughput and memory over time."""
    st, s, mem = data["settings"], data["summary"], data["memory"]
    per = st["threads"] // st["workers"]
    saver = "AsyncShallowRedisSaver" if st.get("saver") == "shallow" else "AsyncRedisSaver"
    ttl = f"TTL {st['ttl_minutes']:g} min (refresh on read)" if st["ttl_minutes"] else "no TTL"
    md = [
        "## Soak",
        "",
        f"{st['workers']} worker processes x {per} concurrent conversation threads "
        f"({st['threads']:,} in all, {st['users']:,} users) driving the cross-thread-"
        f"persistence chatbot for {st['duration_s']:.0f} s against {data['server']} "
        f"with {saver} and the store's {data['store_engine']} engine; {ttl}; pool of "
        f"{st['pool_size']} "
        f"connections per saver and per store in each worker (bound: "
        f"{data['connection_bound']} connections), callers wait up to "
        f"{st['pool_timeout_s']:g} s for one.",
        "",
    ]
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(s["errors_by_type"].items())) or "none"
    md += md_table(
        ["invocations", "throughput", "p50", "p99", "max", "errors", "max clients"],
        [
            [
                f"{s['invocations']:,}",
                f"{s['invocations_s']:,.0f}/s",
                f"{s['p50_ms']:.1f} ms",
                f"{s['p99_ms']:.1f} ms",
                f"{s['max_ms']:.0f} ms",
                f"**{s['errors']}** ({errors})",
                f"{s['max_connected_clients']} (bound {data['connection_bound']} + 1 sampler)",
            ]
        ],
    )
    if s["workers_crashed"] or s["workers_finished"] != st["workers"]:
        md += [
            f"Workers finished: {s['workers_finished']} of {st['workers']}; "
            f"exit codes {s['worker_exit_codes']}.",
            "",
        ]
    md += [
        "Memory: slope (least squares, per minute) over the first and the last half of the "
        "run; *growth* is the last half's slope times its length over its mean value "
        "(flat: under 10 %).",
        "",
    ]
    names = {
        "server_used_memory": ("server `used_memory`", _mb),
        "server_dbsize": ("server `DBSIZE` (keys)", _count),
        "client_rss_total": ("client RSS, all workers", _mb),
    }
    body = []
    for key, (label, fmt) in names.items():
        f = mem[key]
        body.append(
            [
                label,
                fmt(f["start"]),
                fmt(f["mid"]),
                fmt(f["end"]),
                _per_min(fmt(f["slope_first_half_per_min"])),
                _per_min(fmt(f["slope_last_half_per_min"])),
                fmt_value(f["growth_last_half_pct"], " %"),
                _trend(f["growth_last_half_pct"]),
            ]
        )
    md += md_table(
        ["series", "start", "half-way", "end", "slope, 1st half", "slope, 2nd half", "growth", ""],
        body,
    )
    timeline = data["timeline"]
    samples = data["server_samples"]
    stride = max(1, len(timeline) // 12)
    rows = []
    for point in timeline[stride - 1 :: stride]:
        near = min(samples, key=lambda x: abs(x["t"] - point["t"]), default=None)
        rows.append(
            [
                f"{point['t']:.0f}",
                f"{point['invocations_s']:,.0f}",
                f"{point['p50_ms']:.1f}",
                f"{point['p99_ms']:.1f}",
                str(point["errors"]),
                _mb(point["client_rss"]),
                _mb(near["used_memory"]) if near else NA,
                _count(near["dbsize"]) if near else NA,
            ]
        )
    md += [f"Over time (every {stride * st['interval_s']:g} s):", ""]
    md += md_table(
        [
            "t, s",
            "invocations/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "client RSS",
            "server memory",
            "keys",
        ],
        rows,
    )
    if s["error_samples"]:
        md += ["First errors:", "", *[f"- `{e}`" for e in s["error_samples"]], ""]
    if png:
        md += [f"![memory over time]({png})", ""]
    notes = data.get("notes") or []
    if notes:
        md += [*[f"- {n}" for n in notes], ""]
    return "\n".join(md)


def _trend(growth_pct: float) -> str:
    """Flat within 10 %, else the direction: only growth is a problem under TTL."""
    if growth_pct != growth_pct or abs(growth_pct) < 10:
        return "flat"
    return "shrinking" if growth_pct < 0 else "**growing**"
