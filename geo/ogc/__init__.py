"""OGC API Features: collections, items, CQL2 filters."""
