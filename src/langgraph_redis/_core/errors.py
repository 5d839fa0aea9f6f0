"""The redis-free half of the public exceptions; import them from :mod:`langgraph_redis.errors`.

The hierarchy's base class and the data errors live here because ``_core`` raises the
data errors while decoding replies, and ``_core`` imports no redis (it is sans-IO and is
tested without a server). :mod:`langgraph_redis.errors` adds the connection errors, which
must subclass redis-py's exceptions, and re-exports these, so users see one module.

``__module__`` names that public module: tracebacks and ``repr`` show the importable
path, and pickling (an exception crossing a process boundary) resolves it there.
"""

from __future__ import annotations

PUBLIC_MODULE = "langgraph_redis.errors"


class LangGraphRedisError(Exception):
    """Base class of every exception this package defines.

    Each subclass also keeps the builtin or redis-py base it has always had
    (``ValueError``, ``redis.exceptions.ConnectionError``, ...), so existing ``except``
    clauses keep working.
    """

    __module__ = PUBLIC_MODULE


class UnsupportedFormatError(LangGraphRedisError, ValueError):
    """Data under our prefix was written by a newer, incompatible format."""

    __module__ = PUBLIC_MODULE


class CorruptDataError(LangGraphRedisError, ValueError):
    """Data under our prefix cannot be decoded (foreign or damaged)."""

    __module__ = PUBLIC_MODULE
