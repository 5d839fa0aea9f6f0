"""Public errors survive pickling as their own class (no server)."""

from __future__ import annotations

import pickle

import langgraph_redis
from langgraph_redis import errors


def test_errors_pickle_as_the_public_classes() -> None:
    """An error crossing a process boundary comes back as the same public class."""
    names = [n for n in dir(errors) if isinstance(getattr(errors, n), type)]
    public = [n for n in names if issubclass(getattr(errors, n), errors.LangGraphRedisError)]
    assert len(public) > 1
    for name in public:
        cls = getattr(langgraph_redis, name, None) or getattr(errors, name)
        assert cls.__module__ == "langgraph_redis.errors"
        again = pickle.loads(pickle.dumps(cls("boom")))
        assert type(again) is cls and str(again) == "boom"
