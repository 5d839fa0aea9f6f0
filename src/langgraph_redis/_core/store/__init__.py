"""The store's core: key layout, filters, item plans, snapshots, batch grouping and the engines."""
