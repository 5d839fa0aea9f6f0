"""PNG plots of one run (matplotlib, Agg backend: no display needed).

Four figures: latency by operation, throughput by concurrency, cost by history length,
cost by store size. Each reads only the result rows, so they can be redrawn from an old
``results.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from benchmarks.rows import CP_OPS, STORE_OPS, find, subject_label, subjects_of

Row = dict[str, Any]


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout(rect=(0, 0.12, 1, 1) if fig.legends else (0, 0, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def latency_by_operation(rows: list[Row], out: Path) -> Path:
    """p50 bars with p99 whiskers per checkpointer operation, one task."""
    subjects = subjects_of(rows, "checkpointer")
    fig, ax = plt.subplots(figsize=(11, 5))
    width = 0.8 / max(1, len(subjects))
    for k, (s, e) in enumerate(subjects):
        found = [
            find(rows, suite="checkpointer", op=op, subject=s, engine=e, concurrency=1)
            for op in CP_OPS
        ]
        p50 = [r["p50_ms"] if r else 0.0 for r in found]
        p99 = [(r["p99_ms"] - r["p50_ms"]) if r else 0.0 for r in found]
        xs = [i + k * width for i in range(len(CP_OPS))]
        ax.bar(xs, p50, width, yerr=[[0.0] * len(p99), p99], capsize=2, label=subject_label(s, e))
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(CP_OPS))], list(CP_OPS))
    ax.set_ylabel("latency, ms (bar p50, whisker p99)")
    ax.set_yscale("log")
    ax.set_title("Checkpointer latency by operation (1 task)")
    ax.legend(fontsize=7, ncol=2)
    return _save(fig, out / "latency_by_operation.png")


def _panels(
    fig: Any,
    axes: Any,
    titles: Sequence[str],
    labels: tuple[str, str, int],
    suptitle: str,
    path: Path,
) -> Path:
    """Log-log panels titled by operation, one legend for all, saved to ``path``.

    ``labels``: x label, y label (first panel) and the x axis's log base. One legend for
    all panels, so a subject missing from the last panel still appears.
    """
    xlabel, ylabel, base = labels
    for ax, title in zip(axes, titles):
        ax.set_xscale("log", base=base)
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel(xlabel)
    axes[0].set_ylabel(ylabel)
    handles = {h.get_label(): h for ax in axes for h in ax.get_lines()}
    fig.legend(list(handles.values()), list(handles), fontsize=7, loc="lower center", ncol=5)
    fig.suptitle(suptitle)
    return _save(fig, path)


def throughput_by_concurrency(rows: list[Row], out: Path) -> Path:
    """ops/s against concurrency, one panel per checkpointer operation."""
    fig, axes = plt.subplots(1, len(CP_OPS), figsize=(14, 4), sharey=False)
    concs = sorted({int(r["concurrency"]) for r in rows if r["suite"] == "checkpointer"})
    for ax, op in zip(axes, CP_OPS):
        for k, (s, e) in enumerate(subjects_of(rows, "checkpointer")):
            pts = [
                (c, find(rows, suite="checkpointer", op=op, subject=s, engine=e, concurrency=c))
                for c in concs
            ]
            xs = [c for c, r in pts if r]
            ys = [r["ops_s"] for _, r in pts if r]
            if xs:
                ax.plot(xs, ys, marker="o", color=f"C{k % 10}", label=subject_label(s, e))
    return _panels(
        fig,
        axes,
        CP_OPS,
        ("concurrent tasks", "ops/s", 2),
        "Checkpointer throughput by concurrency",
        out / "throughput_by_concurrency.png",
    )


def cost_by_history(rows: list[Row], out: Path) -> Path:
    """get_tuple p50 against the number of checkpoints in the thread."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for s, e in subjects_of(rows, "history"):
        pts = sorted(
            (r["history"], r["p50_ms"])
            for r in rows
            if r["suite"] == "history" and r["subject"] == s and r["engine"] == e
        )
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=subject_label(s, e))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("checkpoints in thread")
    ax.set_ylabel("get_tuple p50, ms")
    ax.set_title("Cost by history length")
    ax.legend(fontsize=7)
    return _save(fig, out / "cost_by_history.png")


def cost_by_store_size(rows: list[Row], out: Path) -> Path:
    """p50 of each store operation against the number of items (one task)."""
    fig, axes = plt.subplots(1, len(STORE_OPS), figsize=(14, 4))
    for ax, op in zip(axes, STORE_OPS):
        for k, (s, e) in enumerate(subjects_of(rows, "store")):
            pts = sorted(
                (r["size"], r["p50_ms"])
                for r in rows
                if r["suite"] == "store"
                and r["op"] == op
                and "p50_ms" in r
                and r["subject"] == s
                and r["engine"] == e
                and r.get("concurrency") == 1
            )
            if pts:
                ax.plot(
                    [p[0] for p in pts],
                    [p[1] for p in pts],
                    marker="o",
                    color=f"C{k % 10}",
                    label=subject_label(s, e),
                )
    return _panels(
        fig,
        axes,
        STORE_OPS,
        ("items", "p50, ms", 10),
        "Store cost by size (1 task)",
        out / "cost_by_store_size.png",
    )


def draw_all(rows: list[Row], out: Path) -> list[Path]:
    """Every plot whose data is present."""
    out.mkdir(parents=True, exist_ok=True)
    made = []
    if any(r["suite"] == "checkpointer" for r in rows):
        made += [latency_by_operation(rows, out), throughput_by_concurrency(rows, out)]
    if any(r["suite"] == "history" for r in rows):
        made.append(cost_by_history(rows, out))
    if any(r["suite"] == "store" and "p50_ms" in r for r in rows):
        made.append(cost_by_store_size(rows, out))
    return made


def soak_memory(data: dict[str, Any], out: Path) -> Path:
    """Soak run: server memory and client RSS over time, keys and throughput beside."""
    server = data["server_samples"]
    timeline = [
        x for x in data["timeline"] if x["workers_reporting"] == data["settings"]["workers"]
    ]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    mb = 2**20
    ax.plot(
        [s["t"] for s in server],
        [s["used_memory"] / mb for s in server],
        label="server used_memory",
    )
    ax.plot(
        [x["t"] for x in timeline],
        [x["client_rss"] / mb for x in timeline],
        label="client RSS (all workers)",
    )
    ttl_s = float(data["settings"]["ttl_minutes"]) * 60
    if ttl_s:
        ax.axvline(ttl_s, color="grey", linestyle=":", label="one TTL")
    ax.set_xlabel("seconds")
    ax.set_ylabel("MB")
    ax.set_ylim(bottom=0)
    ax.set_title("Memory over time")
    ax.legend(fontsize=8)
    ax2.plot(
        [x["t"] for x in timeline],
        [x["invocations_s"] for x in timeline],
        color="C2",
        label="invocations/s",
    )
    ax2.set_xlabel("seconds")
    ax2.set_ylabel("invocations/s")
    ax2.set_ylim(bottom=0)
    keys = ax2.twinx()
    keys.plot(
        [s["t"] for s in server], [s["dbsize"] for s in server], color="C3", label="keys (DBSIZE)"
    )
    keys.set_ylabel("keys")
    keys.set_ylim(bottom=0)
    ax2.set_title("Throughput and keys over time")
    handles = ax2.get_lines() + keys.get_lines()
    ax2.legend(handles, [str(h.get_label()) for h in handles], fontsize=8, loc="lower right")
    return _save(fig, out / "soak_memory.png")
