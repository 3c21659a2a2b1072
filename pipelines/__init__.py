"""The Dagster code location: assets, checks, resources, jobs, schedules and sensors.

Assets here are thin: they call `sources` to fetch and parse and `warehouse` to validate and land.
`pipelines.definitions` holds the one ``Definitions`` object; `pipelines.cli` is the `observatory` command.
"""
