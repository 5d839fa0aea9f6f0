"""The saver's configuration and the reading of LangGraph ``RunnableConfig`` targets.

Every checkpoint plan takes a :class:`SaverConfig`; ``target`` and the small readers
below turn a ``RunnableConfig`` into (thread, namespace, checkpoint id) with errors that
say what is missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_redis._core.checkpoint.deltas import DeltaCache
from langgraph_redis._core.checkpoint.keys import (
    ThreadKeys,
)
from langgraph_redis._core.plans import Command, check_prefix


@dataclass(frozen=True)
class SaverConfig:
    """Per-saver settings every plan needs."""

    serde: SerializerProtocol
    prefix: str = "lgr"
    ttl_seconds: int = 0
    refresh_on_read: bool = False
    deltas: DeltaCache = field(default_factory=DeltaCache, compare=False, repr=False)
    """What this saver last stored per channel, to write list tails as deltas."""

    def __post_init__(self) -> None:
        check_prefix(self.prefix)

    def keys(self, thread_id: str) -> ThreadKeys:
        return ThreadKeys(self.prefix, thread_id)


def ttl_seconds(ttl: Mapping[str, Any] | None) -> tuple[int, bool]:
    """Read LangGraph's TTL config (``default_ttl`` in minutes, ``refresh_on_read``)."""
    if not ttl:
        return 0, False
    unknown = set(ttl) - {"default_ttl", "refresh_on_read"}
    if unknown:
        raise ValueError(f"unknown checkpointer ttl options: {sorted(unknown)}")
    minutes = ttl.get("default_ttl")
    if minutes is not None and (not isinstance(minutes, (int, float)) or minutes <= 0):
        raise ValueError(f"default_ttl must be a positive number of minutes, got {minutes!r}")
    seconds = max(1, round(float(minutes) * 60)) if minutes else 0
    return seconds, bool(ttl.get("refresh_on_read", False))


def _configurable(config: RunnableConfig | None, what: str) -> dict[str, Any]:
    if not isinstance(config, Mapping):
        raise TypeError(f"{what}: config must be a dict, got {type(config).__name__}")
    conf = config.get("configurable")
    if not isinstance(conf, Mapping):
        raise ValueError(f'{what}: config needs a "configurable" dict with a "thread_id"')
    return dict(conf)


def _thread_id(conf: Mapping[str, Any], what: str) -> str:
    tid = conf.get("thread_id")
    if tid is None or tid == "":
        raise ValueError(
            f'{what}: config["configurable"]["thread_id"] is required '
            '(e.g. {"configurable": {"thread_id": "1"}})'
        )
    return str(tid)


def _ns(conf: Mapping[str, Any]) -> str:
    ns = conf.get("checkpoint_ns") or ""
    if not isinstance(ns, str):
        raise ValueError(f"checkpoint_ns must be a string, got {type(ns).__name__}")
    return ns


def _checkpoint_id(conf: Mapping[str, Any]) -> str | None:
    cid = conf.get("checkpoint_id") or conf.get("thread_ts")
    return str(cid) if cid else None


def target(config: RunnableConfig, what: str) -> tuple[str, str, str | None]:
    """``(thread_id, checkpoint_ns, checkpoint_id)`` from a config, validated."""
    conf = _configurable(config, what)
    return _thread_id(conf, what), _ns(conf), _checkpoint_id(conf)


def _config(thread_id: str, ns: str, checkpoint_id: str) -> RunnableConfig:
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": ns,
            "checkpoint_id": checkpoint_id,
        }
    }


def _expire(keys: Iterable[str], seconds: int) -> list[Command]:
    return [("EXPIRE", k, seconds) for k in keys] if seconds else []
