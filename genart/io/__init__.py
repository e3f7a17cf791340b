"""Writing outputs: image grids, animations, provenance."""
