"""The county: every village of a district at once (manifest, tasks, Dask, dashboard)."""
