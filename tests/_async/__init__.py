"""Async server tests; the sync suite in ``tests/_sync`` is generated from these."""
