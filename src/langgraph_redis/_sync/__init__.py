# WARNING: generated from src/langgraph_redis/_async/__init__.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""Async I/O layer: runs ``_core`` plans over ``redis``; the source of ``_sync``."""
