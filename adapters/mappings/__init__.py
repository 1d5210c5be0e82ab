"""Per-ministry mappings from native formats to canonical schemas."""
