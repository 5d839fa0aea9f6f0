"""Every checkpointer key format and its hash tag.

Invariants:
- All keys of one thread carry the same hash tag ``{<thread>}``, so every per-thread
  call touches one Cluster slot and can run as one MULTI/EXEC or one script.
- User-supplied parts (thread id, namespace, channel, version) are percent-encoded for
  ``%``, ``{``, ``}``, ``:`` and control characters, so no input can close the hash tag
  early, forge a separator or collide with another thread's keys.
- Only two keys live outside a thread's slot: the thread registry (``list(None)``) and
  one set per run id (``delete_for_runs``), which names threads only; what a run wrote
  in a thread is listed in that thread's slot (``run``), so dropping a checkpoint
  updates it atomically. They are indexes: a stale entry is skipped by readers, and
  they are written before the data they point to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

_SPECIAL = re.compile(r"[%{}:\x00-\x1f\x7f]")


def _escape(match: re.Match[str]) -> str:
    return f"%{ord(match.group()):02X}"


def encode(part: str) -> str:
    """Percent-encode the characters that carry meaning inside our key names.

    ``%``, ``{``, ``}``, ``:`` and control characters; everything else (unicode
    included) is kept, so keys stay readable in ``redis-cli``.
    """
    return _SPECIAL.sub(_escape, part) if _SPECIAL.search(part) else part


_ESCAPED = re.compile(r"%([0-9A-F]{2})")


def decode(part: str) -> str:
    """Invert :func:`encode`."""
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), part) if "%" in part else part


@dataclass(frozen=True)
class ThreadKeys:
    """Key names of one thread; ``base`` ends with ``:`` and holds the hash tag."""

    prefix: str
    thread_id: str

    @cached_property
    def base(self) -> str:
        return f"{self.prefix}:{{{encode(self.thread_id)}}}:"

    @property
    def namespaces(self) -> str:
        """SET of the thread's checkpoint namespaces."""
        return self.base + "nss"

    @property
    def registry(self) -> str:
        """SET of every key the thread owns, so deletion never needs SCAN."""
        return self.base + "keys"

    @property
    def runs(self) -> str:
        """SET of run ids whose run index names this thread (cleared with the thread)."""
        return self.base + "runs"

    def run(self, run_id: str) -> str:
        """SET of what run ``run_id`` wrote here: ``c:<ns>:<id>`` checkpoints and
        ``w:<ns>:<id>`` checkpoints holding some of its pending writes (parts encoded)."""
        return f"{self.base}run:{encode(run_id)}"

    def index(self, ns: str) -> str:
        """ZSET of checkpoint ids in ``ns`` (score 0; ids sort by time as UUIDv6)."""
        return f"{self.base}idx:{encode(ns)}"

    def blobs(self, ns: str) -> str:
        """SET of blob keys in ``ns``, for garbage collection after prune/delete."""
        return f"{self.base}blobs:{encode(ns)}"

    def checkpoint(self, ns: str, checkpoint_id: str) -> str:
        """HASH: checkpoint, metadata, parent id and one ``b:<channel>`` blob key per channel."""
        return f"{self.base}cp:{encode(ns)}:{encode(checkpoint_id)}"

    def writes(self, ns: str, checkpoint_id: str) -> str:
        """HASH of pending writes: field ``<task_id>\\0<idx>``."""
        return f"{self.base}w:{encode(ns)}:{encode(checkpoint_id)}"

    def write_runs(self, ns: str, checkpoint_id: str) -> str:
        """HASH: pending-write field (as in ``writes``) -> id of the run that wrote it."""
        return f"{self.base}wr:{encode(ns)}:{encode(checkpoint_id)}"

    def blob(self, ns: str, channel: str, version: str) -> str:
        """STRING holding one channel value at one version, written once."""
        return f"{self.base}b:{encode(ns)}:{encode(channel)}:{encode(version)}"


def thread_registry(prefix: str) -> str:
    """ZSET of thread ids (score 0), read only by ``list(None)`` and bulk operations."""
    return f"{prefix}:threads"


def run_index(prefix: str, run_id: str) -> str:
    """SET of ``\\0<thread id>`` for each thread one run wrote to, for ``delete_for_runs``.

    Entries written by earlier releases name one checkpoint: ``thread\\0ns\\0id``.
    """
    return f"{prefix}:run:{{{encode(run_id)}}}"


def run_member(thread_id: str) -> str:
    """A run index entry: the thread id behind a NUL, unlike the older 3-part entries."""
    return "\0" + thread_id
