"""A checkpointer workload for fault tests: what was acknowledged, what failed, what survived.

Each step writes one checkpoint (``put``) and one pending write (``put_writes``) on one
of a few threads. Errors are recorded, not retried: recovery is the library's job, and
an error here is an error a caller would have seen. :meth:`Workload.verify` then reads
back every acknowledged write. The sync twin (``tests/_sync/workload.py``) is generated.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.base.id import uuid6

REPORT_DIR = Path(__file__).resolve().parents[2] / ".cache" / "reliability"


@dataclass
class Workload:
    """Runs steps against ``saver``; ``inject`` maps a step number to a fault."""

    saver: Any
    threads: int = 4
    acked: dict[tuple[str, str], int] = field(default_factory=dict)
    acked_writes: set[tuple[str, str]] = field(default_factory=set)
    parents: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[float, str]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    faults: list[tuple[float, str]] = field(default_factory=list)
    successes: list[float] = field(default_factory=list)
    steps: int = 0
    unacked_visible: int = 0  # stored although the caller saw an error (not a loss)

    async def step(self) -> None:
        n = self.steps
        self.steps += 1
        tid = f"w{n % self.threads}"
        parent = self.parents.get(tid, {"configurable": {"thread_id": tid, "checkpoint_ns": ""}})
        cp = empty_checkpoint()
        cp["id"] = str(uuid6())
        cp["channel_values"] = {"n": n}
        cp["channel_versions"] = {"n": f"{n:08}"}
        started = time.monotonic()
        try:
            stored = await self.saver.aput(parent, cp, {"step": n}, {"n": f"{n:08}"})
            self.acked[(tid, cp["id"])] = n
            self.parents[tid] = stored
            await self.saver.aput_writes(stored, [("w", n)], f"task{n}")
            self.acked_writes.add((tid, cp["id"]))
            self.successes.append(time.monotonic())
        except Exception as exc:
            self.errors.append((time.monotonic(), f"{type(exc).__name__}: {str(exc)[:160]}"))
        finally:
            self.latencies.append(time.monotonic() - started)

    async def run(
        self,
        steps: int,
        inject: dict[int, tuple[str, Callable[[], Any]]] | None = None,
        *,
        pause: float = 0.0,
    ) -> None:
        """Run ``steps`` steps; before step ``k`` in ``inject`` run its fault."""
        start = self.steps
        for i in range(steps):
            if inject and i in inject:
                name, fault = inject[i]
                self.faults.append((time.monotonic(), name))
                fault()
            await self.step()
            if pause:
                time.sleep(pause)  # the workload is paced, not the event loop's business
        assert self.steps == start + steps

    async def verify(self) -> list[str]:
        """Every acknowledged checkpoint must read back complete; returns what was lost."""
        lost: list[str] = []
        for (tid, cid), n in self.acked.items():
            conf = {"configurable": {"thread_id": tid, "checkpoint_ns": "", "checkpoint_id": cid}}
            found = await self.saver.aget_tuple(conf)
            if found is None:
                lost.append(f"checkpoint {n} ({tid})")
                continue
            if found.checkpoint["channel_values"] != {"n": n}:
                lost.append(f"checkpoint {n}: channel values {found.checkpoint['channel_values']}")
            writes = [w[1:] for w in found.pending_writes or []]
            if (tid, cid) in self.acked_writes and ("w", n) not in writes:
                lost.append(f"pending write of checkpoint {n}")
            if len(writes) > 1:
                lost.append(f"pending write of checkpoint {n} duplicated: {writes}")
        for t in range(self.threads):
            conf = {"configurable": {"thread_id": f"w{t}", "checkpoint_ns": ""}}
            async for item in self.saver.alist(conf):
                # no half-written checkpoint: every listed one has its blob
                if "n" not in item.checkpoint["channel_values"]:
                    lost.append(f"half-written checkpoint {item.config}")
                # no duplicate: a checkpoint stored twice would be listed twice
                if (f"w{t}", item.config["configurable"]["checkpoint_id"]) not in self.acked:
                    self.unacked_visible += 1
        return lost

    def recovery(self) -> float | None:
        """Seconds from the last fault to the end of the first call that succeeded after it."""
        if not self.faults:
            return None
        t0 = self.faults[-1][0]
        after = [t for t in self.successes if t > t0]
        return round(after[0] - t0, 3) if after else None

    def report(self, name: str, **extra: Any) -> dict[str, Any]:
        """Write ``.cache/reliability/<name>.json`` and refresh ``report.md``."""
        distinct = sorted({msg for _, msg in self.errors})
        data: dict[str, Any] = {
            "fault": name,
            "steps": self.steps,
            "injected": [
                f"{name} (x{n})" if n > 1 else name
                for name, n in Counter(f for _, f in self.faults).items()
            ],
            "errors_surfaced": len(self.errors),
            "error_kinds": distinct[:5],
            "acknowledged_checkpoints": len(self.acked),
            "recovery_s": self.recovery(),
            "max_call_s": round(max(self.latencies, default=0.0), 3),
            **extra,
        }
        REPORT_DIR.mkdir(parents=True, exist_ok=True)
        (REPORT_DIR / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
        write_markdown()
        return data


def write_markdown() -> None:
    """One table of every fault report in the directory (the latest run of each)."""
    rows = []
    for path in sorted(REPORT_DIR.glob("*.json")):
        d = json.loads(path.read_text())
        rows.append(
            f"| {d['fault']} | {'; '.join(d['injected'])} | {d['steps']} | "
            f"{d['acknowledged_checkpoints']} | {d['errors_surfaced']} | "
            f"{len(d.get('lost', []))} | {d['recovery_s']} | {d['max_call_s']} |"
        )
    head = (
        "| fault | injected | steps | acked puts | errors surfaced | acked lost | "
        "recovery s | max call s |\n|---|---|---|---|---|---|---|---|\n"
    )
    (REPORT_DIR / "report.md").write_text(head + "\n".join(rows) + "\n")
