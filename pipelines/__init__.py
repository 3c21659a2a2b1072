"""The Dagster code location: assets, checks, resources, jobs, schedules and sensors.

Assets here are thin: they call `sources` to fetch and parse and `warehouse` to validate and land.
`pipelines.definitions` holds the one ``Definitions`` object; `pipelines.cli` is the `observatory` command.

Every process that imports this package (the `observatory` command, Dagster's code server and run workers)
collects garbage less often: see :data:`GC_THRESHOLD`.
"""

import gc

# Python's collector scans its youngest objects every 700 net allocations and, every 10th and 100th time, the
# older ones too. Importing Dagster, pandas and this code location, then a refresh making and dropping rows and
# frames, made that about 1 s of a cold build's process, most of it in full collections while importing (each
# scanning every object alive). At 10,000 the collector runs a sixth as often and takes a fifth of the time, and
# the peak memory is unchanged (benchmarks/README.md); cycles are still collected, a little later.
GC_THRESHOLD = 10_000
gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
