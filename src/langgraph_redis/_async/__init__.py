"""Async I/O layer: runs ``_core`` plans over ``redis.asyncio``; the source of ``_sync``."""
