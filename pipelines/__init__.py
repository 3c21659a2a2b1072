"""The Dagster code location: assets, checks, resources, jobs, schedules and sensors.

Assets here are thin: they call `sources` to fetch and parse and `warehouse` to validate and land.
`pipelines.definitions` holds the one ``Definitions`` object; `pipelines.cli` is the `observatory` command.

Every process that imports this package (the `observatory` command, Dagster's code server and run workers)
collects garbage less often: see :data:`GC_THRESHOLD`.
"""

import gc
import os

# Python's collector scans its youngest objects every 700 net allocations and, every 10th and 100th time, the
# older ones too. Importing Dagster, pandas and this code location, then a refresh making and dropping rows and
# frames, made that 0.9-1.0 s of a cold build's process (about 1,270 collections, 7-8 of them full ones, most while
# importing, each scanning every object alive). At 10,000: 77 collections, none full, 0.34 s; the build's peak
# memory is unchanged (benchmarks/README.md). Cycles are still collected, a little later.
GC_THRESHOLD = 10_000
gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])

# DuckDB allocates through the jemalloc it links in (Linux), which keeps the pages a query freed for about ten
# seconds before giving them back; in a refresh, one query's working memory (a mart's joins and sort: 130 MB) was
# still held when the next step's frames were built, and the build's peak memory was their sum. With no decay the
# pages go back as they are freed. Read by jemalloc when DuckDB is first loaded, so it is set before any import of
# it (a value already in the environment is kept).
os.environ.setdefault("DUCKDB_JE_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")
