"""The checkpointer's core: key layout, serialization and the saver plans (full and shallow)."""
