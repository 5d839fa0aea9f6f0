"""The store's vector settings and the engine choice.

:class:`VectorConfig` is everything that shapes stored vector bytes or an FT index;
``plan_check_config`` records it under the prefix so a store never reads vectors written
with other settings; ``choose_engine`` says which engine searches, and why;
``vector_bytes`` packs a vector the way those settings store it.
"""

from __future__ import annotations

import functools
import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from langgraph.store.base import tokenize_path

from langgraph_redis._core.plans import Batch, batch, check
from langgraph_redis._core.replies import text
from langgraph_redis._core.store import keys as sk

DistanceType = Literal["cosine", "l2", "inner_product"]


@functools.lru_cache(maxsize=64)
def _floats(dims: int) -> struct.Struct:
    return struct.Struct(f"={dims}f")


def vector_bytes(
    vector: Sequence[float] | np.ndarray[Any, Any], dtype: type[np.floating[Any]]
) -> bytes:
    """A vector as the index stores it: ``dtype`` values in native byte order.

    Stored vectors and query vectors go through this one conversion, so a query
    compares bytes packed exactly as the stored ones were. An embedder's list of Python floats packs through :mod:`struct` at about a fifth of
    numpy's cost (6 vs 32 µs for 1,536 floats, a tenth of a batch put's client time),
    with the same bytes: both round each double to the nearest float32 (checked by
    ``tests/core/test_store_batch.py``). Anything else (numpy arrays, half precision,
    values past float32's range, which numpy turns into infinity) takes numpy.
    """
    if dtype is np.float32 and type(vector) is list:
        try:
            return _floats(len(vector)).pack(*vector)
        except (struct.error, OverflowError, TypeError):
            pass
    return np.asarray(vector, dtype=dtype).tobytes()


@dataclass(frozen=True)
class VectorConfig:
    """Vector settings; everything that shapes stored bytes or the FT index."""

    dims: int
    vector_type: Literal["vector", "halfvec"] = "vector"
    distance: DistanceType = "cosine"
    algorithm: Literal["hnsw", "flat"] = "flat"
    m: int = 16
    ef_construction: int = 200
    ef_runtime: int = 10
    fields: tuple[tuple[str, Any], ...] = (("$", "$"),)
    quantization: Literal["noquant", "q8", "bin"] = "noquant"  # vector-set engine only
    algorithm_given: bool = True
    """False when ``algorithm`` is the default: data recorded with another algorithm
    (HNSW, the default of earlier releases) then keeps it (:func:`plan_check_config`)."""

    @property
    def dtype(self) -> type[np.floating[Any]]:
        return np.float16 if self.vector_type == "halfvec" else np.float32

    def fingerprint(self) -> str:
        """What must agree between a store and the data it opens."""
        shape: dict[str, Any] = {
            "dims": self.dims,
            "vector_type": self.vector_type,
            "distance_type": self.distance,
            "algorithm": self.algorithm,
        }
        if self.quantization != "noquant":
            # A vector set refuses vectors of another quantization; left out when it is
            # the default, so data recorded before this setting existed still opens.
            shape["quantization"] = self.quantization
        return json.dumps(shape, sort_keys=True)


def vector_config(index: Mapping[str, Any]) -> VectorConfig:
    """Validate a LangGraph ``IndexConfig`` (plus ``ann_index_config``)."""
    dims = index.get("dims")
    if not isinstance(dims, int) or isinstance(dims, bool) or dims <= 0:
        raise ValueError(f"index config needs a positive integer 'dims', got {dims!r}")
    ann = dict(index.get("ann_index_config") or {})
    vtype = ann.get("vector_type", "vector")
    if vtype not in ("vector", "halfvec"):
        raise ValueError(
            f"ann_index_config.vector_type must be 'vector' or 'halfvec', got {vtype!r}"
        )
    # FLAT by default: exact, and it indexes a write ~10x faster than HNSW (which the
    # query engine builds at insertion: 1,536 dims, M 16, EF_CONSTRUCTION 200); see
    # docs/engines.md for the measured trade-off and when to choose HNSW.
    given = "algorithm" in ann or "kind" in ann
    algo = str(ann.get("algorithm", ann.get("kind", "flat"))).lower()
    if algo not in ("hnsw", "flat"):
        raise ValueError(f"ann_index_config.algorithm must be 'hnsw' or 'flat', got {algo!r}")
    quant = str(ann.get("quantization", "noquant")).lower()
    if quant not in ("noquant", "q8", "bin"):
        raise ValueError(
            f"ann_index_config.quantization must be 'noquant', 'q8' or 'bin', got {quant!r}"
        )
    dist = index.get("distance_type", "cosine")
    if dist not in ("cosine", "l2", "inner_product"):
        raise ValueError(f"distance_type must be 'cosine', 'l2' or 'inner_product', got {dist!r}")
    fields = index.get("fields") or ["$"]
    if isinstance(fields, str):
        fields = [fields]
    tokenized = tuple((p, "$" if p == "$" else tokenize_path(p)) for p in fields)
    return VectorConfig(
        dims=dims,
        vector_type=vtype,
        distance=dist,
        algorithm=algo,  # type: ignore[arg-type]
        m=int(ann.get("m", 16)),
        ef_construction=int(ann.get("ef_construction", 200)),
        ef_runtime=int(ann.get("ef_runtime") or ann.get("ef_search") or 10),
        fields=tokenized,
        quantization=quant,  # type: ignore[arg-type]
        algorithm_given=given,
    )


def plan_check_config(prefix: str, cfg: VectorConfig) -> Batch[VectorConfig]:
    """Record the vector settings once; refuse data written with other settings.

    Returns the settings to use: ``cfg``, or, when the algorithm was left to the default
    and the data was recorded with the other one (HNSW, the default before FLAT), ``cfg``
    with the recorded algorithm, so upgrading never orphans an existing store.
    """
    mine = cfg.fingerprint()

    def decode(replies: list[Any]) -> VectorConfig:
        check(replies)
        stored = replies[1]
        if stored is None or text(stored) == mine:
            return cfg
        if not cfg.algorithm_given:
            try:
                recorded = json.loads(text(stored))
            except ValueError:
                recorded = None
            algo = recorded.get("algorithm") if isinstance(recorded, dict) else None
            if algo in ("hnsw", "flat"):
                adopted = replace(cfg, algorithm=algo)
                if adopted.fingerprint() == text(stored):
                    return adopted
        raise ValueError(
            f"store prefix {prefix!r} holds vectors written with {text(stored)}, "
            f"but this store is configured with {mine}; use another prefix or the "
            "same index settings"
        )

    key = sk.config_key(prefix)
    return batch([("SET", key, mine, "NX"), ("GET", key)], decode)


def choose_engine(
    choice: str, search: bool, cluster: bool, db: int = 0, vsets: bool = False
) -> tuple[str, str]:
    """Which engine a store uses, and why (the reason is logged once at setup).

    ``vsets``: the server answered a vector-set command and the store's vectors suit
    vector sets (cosine, float32; see :func:`.vset.unsuited`). The vector-set engine
    searches server-side on one key per namespace, so it works on a cluster and in any
    database; it is picked when the query engine cannot be used.

    On Redis Cluster the query engine is never used: an OSS cluster has no search
    coordinator, so ``FT.SEARCH`` on one node sees only that node's slots and would
    silently miss the items stored on the other masters. The plain engine reads the
    namespace index and routes one command per namespace to its owner instead.

    In a database other than 0 the query engine is not used either: Redis Stack creates
    FT indexes only in db 0 ("Cannot create index on db != 0"), and an index name is
    global, so a store in db N would search db 0's index and read db N's keys by its
    document ids (another database's data, or none).

    Raises:
        RuntimeError: ``choice="query"`` on a standalone server without ``FT.*``, or on
            a database other than 0; ``choice="vset"`` without vector sets.
    """
    if choice == "vset":
        if not vsets:
            raise RuntimeError(
                "engine='vset' needs a server with vector sets (VADD/VSIM, Redis 8) and "
                "cosine float32 vectors ('vector' type); use engine='auto' or 'plain'"
            )
        return "vset", "vector-set engine requested"
    fallback = "vset" if vsets and choice != "plain" else "plain"
    fallback_name = "vector-set engine" if fallback == "vset" else "plain engine"
    if cluster:
        if choice == "query":
            return fallback, (
                "engine='query' ignored: Redis Cluster has no search coordinator, so FT.SEARCH "
                f"would only see one shard; using the {fallback_name}"
            )
        if fallback == "vset":
            return "vset", "Redis Cluster with vector sets: vector-set engine"
        why = "has FT.* per shard but no coordinator" if search else "no query engine"
        return "plain", f"Redis Cluster ({why}): plain engine"
    if choice == "query" and not search:
        raise RuntimeError(
            "engine='query' needs a server with a query engine (FT.*); this one "
            "has none. Use engine='plain' or 'auto'."
        )
    if choice == "plain":
        return "plain", "plain engine requested"
    if search and db != 0:
        if choice == "query":
            raise RuntimeError(
                f"engine='query' needs database 0: the query engine keeps its indexes in "
                f"db 0 only, and this store uses db {db}. Use engine='auto' or 'plain' "
                "(exact search on any database), or database 0."
            )
        return fallback, f"query engine indexes exist only in db 0, this store uses db {db}"
    if search:
        return "query", "query engine (FT.*) available"
    if fallback == "vset":
        return "vset", "vector sets (VADD/VSIM), no query engine"
    return "plain", "no query engine"
