# WARNING: generated from tests/_async/__init__.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""Async server tests; the sync suite in ``tests/_sync`` is generated from these."""
