"""Plan types: what one round trip sends and how its replies are read.

A *batch* is the unit of I/O: its ``commands`` go out in one pipeline (one round trip),
inside MULTI/EXEC when ``atomic`` is set. Every command of an atomic batch must hash to
one Cluster slot; cross-slot bookkeeping that is safe to apply on its own (idempotent
index updates) goes in ``side`` and is sent in the same round trip on a standalone server,
or alongside on a cluster.

A *plan* is either a batch, or a generator that yields batches, receives their replies
and returns the result (multi-step operations such as paging through an index).
Replies may contain exception objects (pipelines run with ``raise_on_error=False``);
decoders call :func:`check` before trusting them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")

Arg = str | bytes | int | float
Command = tuple[Arg, ...]


def check_prefix(prefix: str, what: str = "key") -> str:
    """Refuse a key prefix with braces (they would move the Cluster hash tag, and key
    parsing splits on them) or an empty one; ``what`` names the prefix in the message."""
    if not prefix or "{" in prefix or "}" in prefix:
        raise ValueError(f"{what} prefix must be non-empty and contain no braces, got {prefix!r}")
    return prefix


@dataclass(frozen=True)
class Script:
    """A Lua script, sent by SHA and loaded on demand (NOSCRIPT is retried once)."""

    name: str
    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode()).hexdigest())

    def call(self, keys: Sequence[Arg], args: Sequence[Arg] = ()) -> ScriptCall:
        """Build one EVALSHA command for this script."""
        return ScriptCall(self, tuple(keys), tuple(args))


@dataclass(frozen=True)
class ScriptCall:
    """A script invocation inside a batch; the runner turns it into EVALSHA/EVAL."""

    script: Script
    keys: tuple[Arg, ...]
    args: tuple[Arg, ...]

    def evalsha(self) -> Command:
        return ("EVALSHA", self.script.sha, len(self.keys), *self.keys, *self.args)

    def eval(self) -> Command:
        return ("EVAL", self.script.source, len(self.keys), *self.keys, *self.args)


Op = Command | ScriptCall


def _identity(replies: list[Any]) -> list[Any]:
    return replies


@dataclass(frozen=True)
class Batch(Generic[T]):
    """Commands for one round trip and the decoder of their replies."""

    commands: tuple[Op, ...]
    decode: Callable[[list[Any]], T]
    atomic: bool = False
    side: tuple[Command, ...] = ()
    writes: bool = False
    """A write (also true of every atomic batch): ``wait_replicas`` waits after it."""


def batch(
    commands: Sequence[Op],
    decode: Callable[[list[Any]], T] = _identity,  # type: ignore[assignment]
    *,
    atomic: bool = False,
    side: Sequence[Command] = (),
    writes: bool = False,
) -> Batch[T]:
    """Convenience constructor that accepts any sequence."""
    return Batch(tuple(commands), decode, atomic, tuple(side), writes or atomic)


Plan = Batch[T] | Generator[Batch[Any], Any, T]


def check(replies: Sequence[Any]) -> None:
    """Raise the first exception found among pipeline replies."""
    for reply in replies:
        if isinstance(reply, BaseException):
            raise reply
