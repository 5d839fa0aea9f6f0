"""I/O layer over redis-py: runs ``_core`` plans. Written async; ``_sync`` is generated from it."""
