# WARNING: generated from src/langgraph_redis/_async/__init__.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""I/O layer over redis-py: runs ``_core`` plans. Written async; ``_sync`` is generated from it."""
