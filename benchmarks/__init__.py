"""Benchmarks for langgraph-redis against its alternatives, run as ``python -m benchmarks``.

Every figure (ours on each engine, the peers, the in-memory and SQLite savers and a
hand-written lower bound) comes from the same run on the same machine, so ratios between
them are meaningful even when absolute numbers are not. This package imports nothing at
module level: ``peer_worker`` runs inside a separate virtualenv that has LangGraph and
langgraph-checkpoint-redis but not this project.
"""
