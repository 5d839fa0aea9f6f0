"""Every key the store writes, and the escaping that lets any label or key round-trip.

Layout (``P`` is the store prefix, ``{N}`` the escaped namespace used as the Cluster
hash tag, ``K`` an escaped item key):

=====================  ======  =====================================================
``P:i:{N}:K``          HASH    one item: ``value`` (JSON), ``ca``/``ua`` (µs since
                               epoch), ``nv`` (vector count), ``ttl`` (ms or absent),
                               ``ns`` and ``key`` (raw, for decoding), ``fmt``
                               (item format version); on the query engine also
                               ``nsi``/``flt`` (TAG digests) and ``ord`` (sort key)
``P:v:{N}:K:<n>``      HASH    the n-th vector of an item: ``vec`` (packed floats),
                               ``nsp``/``flt`` (TAG digests), ``ns``, ``key``
``P:z:{N}``            ZSET    item keys of the namespace, score = expiry (ms since
                               epoch, ``+inf`` when the item never expires)
``P:s:{N}``            ZSET    escaped item key -> namespace version of its last
                               write (a cache asks "what changed since version v")
``P:d:{N}``            ZSET    escaped item key -> version of its delete or sweep;
                               the newest 1,000 tombstones are kept
``P:c:{N}``            HASH    ``v``: version, HINCRBY on every put, delete and
                               sweep; ``e``: random epoch set when the namespace is
                               (re)created, so a recreated namespace is never
                               mistaken for the one a cache saw
``P:vs:{N}``           VSET    vector set of the namespace (vector-set engine):
                               element ``K:<n>`` per vector, attributes = the
                               item's short top-level scalars (``VSIM FILTER``)
``P:ns``               ZSET    every namespace that holds items (member ``N``)
``P:cfg``              STRING  vector settings the data was written with
``P:idx``              FT      query-engine index over ``P:v:{`` and ``P:i:{``
                               (query engine only)
``P:ixg``              STRING  token rewritten by whoever (re)creates ``P:idx``, so
                               searches notice a new index that may still be indexing
=====================  ======  =====================================================

Cluster decision: one hash tag per namespace. An item, its vectors, the namespace's
key set, stamps, tombstones and version share one slot, so every write to one item is a
single-slot script and one namespace's reads are one slot. The only cross-slot key is
the namespace index ``P:ns``: writes add to it as idempotent side commands, and
cross-namespace reads (search by prefix, list_namespaces) read it first and then send
per-namespace commands, which the cluster pipeline routes to each owner. No operation
needs to ask every master.

Escaping: labels and keys are percent-encoded for ``%``, ``.``, ``:``, ``{``, ``}``,
``|``, ``,``, glob characters, backslash, quotes, whitespace and control characters;
everything else (unicode included) is kept. Escaped text therefore never contains the
label separator ``.``, the key separator ``:`` or a brace, so hash tags stay intact and
decoding is exact.
"""

from __future__ import annotations

import re
from collections.abc import Callable

NS_SEP = "."
_ESCAPE = frozenset("%.:{}|,*?[]\\\"'`") | {chr(c) for c in range(0x21)} | {"\x7f"}
_UNESCAPE = re.compile(r"%([0-9A-F]{2})")


def escape(text: str) -> str:
    """Percent-encode the characters that would break key structure or hash tags."""
    if not any(ch in _ESCAPE for ch in text):
        return text
    return "".join(f"%{ord(ch):02X}" if ch in _ESCAPE else ch for ch in text)


def unescape(text: str) -> str:
    """Invert :func:`escape`."""
    if "%" not in text:
        return text
    return _UNESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def ns_text(namespace: tuple[str, ...]) -> str:
    """The escaped form of a namespace: labels escaped and joined with ``.``."""
    return NS_SEP.join(escape(label) for label in namespace)


def ns_from_text(text: str) -> tuple[str, ...]:
    """Invert :func:`ns_text`."""
    if not text:
        return ()
    return tuple(unescape(label) for label in text.split(NS_SEP))


def item_key(prefix: str, nst: str, key: str) -> str:
    return f"{prefix}:i:{{{nst}}}:{escape(key)}"


def vec_key_base(prefix: str, nst: str, key: str) -> str:
    """Vector keys of one item are this base followed by ``0``, ``1``, ..."""
    return f"{prefix}:v:{{{nst}}}:{escape(key)}:"


def vec_prefix(prefix: str) -> str:
    """The key prefix the query-engine index covers."""
    return f"{prefix}:v:"


def _namespace_key(kind: str) -> Callable[[str, str], str]:
    """The builder of the namespace's ``P:<kind>:{N}`` key (see the layout above)."""

    def key(prefix: str, nst: str) -> str:
        return f"{prefix}:{kind}:{{{nst}}}"

    return key


# The namespace's bookkeeping keys, one of each per namespace, in the namespace's slot.
keys_key = _namespace_key("z")  # ZSET: its item keys by expiry
stamps_key = _namespace_key("s")  # ZSET: item key -> version of its last write
tombstones_key = _namespace_key("d")  # ZSET: item key -> version of its delete
version_key = _namespace_key("c")  # HASH: version and epoch
vset_key = _namespace_key("vs")  # VSET (vector-set engine; kept in step once it exists)


def item_key_prefix(prefix: str, nst: str) -> str:
    """Item keys of a namespace are this prefix followed by the escaped item key."""
    return f"{prefix}:i:{{{nst}}}:"


def vec_ns_prefix(prefix: str, nst: str) -> str:
    """Vector keys of a namespace are this prefix, the escaped key, ``:`` and ``n``."""
    return f"{prefix}:v:{{{nst}}}:"


def ns_index_key(prefix: str) -> str:
    return f"{prefix}:ns"


def config_key(prefix: str) -> str:
    return f"{prefix}:cfg"


def index_name(prefix: str) -> str:
    return f"{prefix}:idx"


def index_token_key(prefix: str) -> str:
    return f"{prefix}:ixg"


def ns_lex_range(nst: str) -> tuple[str, str]:
    """ZRANGE BYLEX bounds covering namespace ``nst`` and every namespace below it.

    ``/`` is the character after the separator ``.``, so ``[N`` .. ``(N/`` holds ``N``,
    ``N.<anything>`` and a few siblings such as ``N-x``; callers drop those exactly.
    An empty ``nst`` means every namespace.
    """
    if not nst:
        return "-", "+"
    return f"[{nst}", f"({nst}/"


def is_under(nst: str, prefix_nst: str) -> bool:
    """Whether namespace ``nst`` equals ``prefix_nst`` or lies below it."""
    return not prefix_nst or nst == prefix_nst or nst.startswith(prefix_nst + NS_SEP)


def ns_keys(prefix: str, nst: str) -> tuple[str, str, str, str]:
    """Key set, stamps, version and tombstones of one namespace (one slot)."""
    return (
        keys_key(prefix, nst),
        stamps_key(prefix, nst),
        version_key(prefix, nst),
        tombstones_key(prefix, nst),
    )
