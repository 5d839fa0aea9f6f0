"""Storage per thread and put/get latency as a conversation grows (issue 14).

Each step appends one message (~250 characters) to the ``messages`` channel and bumps
``step``, as a chat graph does. We record the server's ``used_memory`` growth per thread at
10 … 1,000 steps, the serialized size of the final state, and the median ``aput`` and
``aget_tuple`` latency around 10, 100 and 1,000 messages, for our saver, the hand-written
lower bound (full values, the same scripts) and langgraph-checkpoint-redis (from its own
virtualenv, through ``peer_worker``). No import of this project at module level, so the
peer worker can run the same function.

    python -m benchmarks.storage [--steps 1000] [--threads 4] [--engine stack] [--no-peers]

prints a markdown table and writes ``storage.json`` and ``storage.png`` (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import redis
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

MARKS = (10, 20, 40, 80, 160, 320, 640, 1000)
LATENCY_AT = (10, 100, 1000)
SAMPLES = 15
SENTENCE = "The quick brown fox jumps over the lazy dog while the model thinks. " * 3


@dataclass(frozen=True)
class StorageSizes:
    steps: int = 1000
    threads: int = 4

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StorageSizes:
        return cls(**data)


def message(i: int) -> Any:
    kind = HumanMessage if i % 2 == 0 else AIMessage
    return kind(f"{i}: {SENTENCE}", id=f"m-{i}")


def used_memory(url: str) -> int:
    with redis.Redis.from_url(url) as conn:
        return int(conn.info("memory")["used_memory"])


async def bench_storage(
    saver: Any, subject: str, url: str, sizes: StorageSizes
) -> list[dict[str, Any]]:
    """Grow ``sizes.threads`` threads step by step; one row per mark and per latency point.

    Rows: ``{"subject", "kind": "bytes", "steps", "bytes_per_thread", "state_bytes"}`` and
    ``{"subject", "kind": "latency", "steps", "put_ms", "get_ms"}`` (medians).
    """
    run = uuid.uuid4().hex[:8]
    tids = [f"storage-{run}-{i}" for i in range(sizes.threads)]
    cfgs: list[Any] = [{"configurable": {"thread_id": t, "checkpoint_ns": ""}} for t in tids]
    versions: list[dict[str, Any]] = [{} for _ in tids]
    messages: list[Any] = []
    serde = JsonPlusSerializer()
    # warm up (connections, scripts, indexes) so the baseline holds the fixed costs
    warm: Any = {"configurable": {"thread_id": f"storage-{run}-warmup", "checkpoint_ns": ""}}
    cp = empty_checkpoint()
    cp["id"] = str(uuid6())
    warm = await saver.aput(warm, cp, {"step": 0, "source": "loop"}, {})
    await saver.aget_tuple(warm)
    start = used_memory(url)
    rows: list[dict[str, Any]] = []
    put_times: dict[int, list[float]] = {n: [] for n in LATENCY_AT}
    for step in range(1, sizes.steps + SAMPLES + 1):
        messages = [*messages, message(step)]
        for i in range(len(tids)):
            new = {
                ch: saver.get_next_version(versions[i].get(ch), None) for ch in ("messages", "step")
            }
            versions[i].update(new)
            cp = empty_checkpoint()
            cp["id"] = str(uuid6())
            cp["channel_values"] = {"messages": messages, "step": step}
            cp["channel_versions"] = dict(versions[i])
            t0 = time.perf_counter()
            cfgs[i] = await saver.aput(cfgs[i], cp, {"step": step, "source": "loop"}, new)
            took = time.perf_counter() - t0
            for n in LATENCY_AT:
                if n <= step < n + SAMPLES and i == 0:
                    put_times[n].append(took)
        if step in MARKS and step <= sizes.steps:
            grown = used_memory(url) - start
            state = len(serde.dumps_typed(messages)[1])
            rows.append(
                {
                    "subject": subject,
                    "kind": "bytes",
                    "steps": step,
                    "bytes_per_thread": grown / len(tids),
                    "state_bytes": state,
                }
            )
            print(f"[storage] {subject}: {step} steps, {grown / len(tids) / 1e6:.2f} MB/thread")
        if step in LATENCY_AT:
            gets = []
            for _ in range(SAMPLES):
                t0 = time.perf_counter()
                found = await saver.aget_tuple({"configurable": {"thread_id": tids[0]}})
                gets.append(time.perf_counter() - t0)
                assert found is not None
            assert len(found.checkpoint["channel_values"]["messages"]) == step
            rows.append({"subject": subject, "kind": "get", "steps": step, "ms": _median(gets)})
    for n, times in put_times.items():
        if times:
            rows.append({"subject": subject, "kind": "put", "steps": n, "ms": _median(times)})
    return rows


def _median(seconds: Sequence[float]) -> float:
    return statistics.median(seconds) * 1000


def flush(url: str) -> None:
    with redis.Redis.from_url(url) as conn:
        conn.execute_command("FLUSHALL", "SYNC")


async def _ours(url: str, sizes: StorageSizes) -> list[dict[str, Any]]:
    from langgraph_redis import AsyncRedisSaver

    async with AsyncRedisSaver.from_conn_string(url) as saver:
        await saver.asetup()
        return await bench_storage(saver, "langgraph-redis", url, sizes)


async def _lower_bound(url: str, sizes: StorageSizes) -> list[dict[str, Any]]:
    from benchmarks.lower_bound import HandWrittenSaver

    saver = HandWrittenSaver(url)
    try:
        await saver.load_scripts()
        return await bench_storage(saver, "lower-bound", url, sizes)
    finally:
        await saver.aclose()


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown: MB per thread by steps, then put/get medians, one column per subject."""
    subjects = list(dict.fromkeys(r["subject"] for r in rows))
    by = {(r["subject"], r["kind"], r["steps"]): r for r in rows}
    marks = sorted({r["steps"] for r in rows if r["kind"] == "bytes"})
    out = ["| steps | final state | " + " | ".join(subjects) + " |"]
    out.append("|---" * (len(subjects) + 2) + "|")
    for n in marks:
        state = next(r["state_bytes"] for r in rows if r["kind"] == "bytes" and r["steps"] == n)
        cells = []
        for s in subjects:
            r = by.get((s, "bytes", n))
            if r is None:
                cells.append("n/a")
            elif r["bytes_per_thread"] <= 0:  # allocator noise larger than the growth
                cells.append("< noise")
            else:
                grown = r["bytes_per_thread"]
                cells.append(f"{grown / 1e6:.2f} MB ({grown / state:.1f}x)")
        out.append(f"| {n} | {state / 1e3:.0f} KB | " + " | ".join(cells) + " |")
    out += ["", "| median ms | " + " | ".join(subjects) + " |", "|---" * (len(subjects) + 1) + "|"]
    for kind in ("put", "get"):
        for n in LATENCY_AT:
            cells = [
                f"{by[(s, kind, n)]['ms']:.2f}" if (s, kind, n) in by else "n/a" for s in subjects
            ]
            out.append(f"| {kind} at {n} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for subject in dict.fromkeys(r["subject"] for r in rows):
        pts = [
            (r["steps"], r["bytes_per_thread"] / 1e6)
            for r in rows
            if r["subject"] == subject and r["kind"] == "bytes" and r["bytes_per_thread"] > 0
        ]
        if pts:
            ax.plot(*zip(*pts), marker="o", label=subject)
    state = sorted({(r["steps"], r["state_bytes"] / 1e6) for r in rows if r["kind"] == "bytes"})
    ax.plot(*zip(*state), linestyle="--", color="grey", label="final state (serialized)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("steps (one message appended per step)")
    ax.set_ylabel("MB per thread (used_memory growth)")
    ax.set_title("Storage per thread as a conversation grows")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def render(path: Path) -> None:
    """Print the table and redraw the plot of a saved ``storage.json``."""
    data = json.loads(path.read_text())
    plot(data["rows"], path.with_suffix(".png"))
    print(f"server: {data['server']}; {data['sizes']['threads']} threads")
    print(table(data["rows"]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--engine", default="stack", help="stack: the anchor needs the query engine")
    p.add_argument("--no-peers", action="store_true", help="skip langgraph-checkpoint-redis")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    p.add_argument("--render", type=Path, help="only redraw a saved storage.json")
    args = p.parse_args(argv)
    if args.render:
        render(args.render)
        return 0
    from benchmarks import peers, servers

    sizes = StorageSizes(args.steps, args.threads)
    notes: list[str] = []
    rows: list[dict[str, Any]] = []
    with servers.targets([args.engine], notes) as found:
        target = found[0]
        for fn in (_ours, _lower_bound):
            if target.owned:
                flush(target.url)
            rows += asyncio.run(fn(target.url, sizes))
        if not args.no_peers and target.search:
            python = peers.ensure_venv(notes)
            if python is not None:
                if target.owned:
                    flush(target.url)
                request = {"url": target.url, "engine": target.engine, "storage": asdict(sizes)}
                reply = peers.run_worker(python, request, timeout=3600)
                rows += reply["rows"]
                notes += reply["notes"]
        version = target.version
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "storage.json").write_text(
        json.dumps(
            {"server": version, "sizes": asdict(sizes), "rows": rows, "notes": notes}, indent=1
        )
    )
    plot(rows, args.out / "storage.png")
    print(f"server: {version}; {sizes.threads} threads")
    print(table(rows))
    for note in notes:
        print("note:", note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
