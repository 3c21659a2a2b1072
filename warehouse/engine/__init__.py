"""The storage engine: registry, contracts, DDL, loader, SQL files, publish, build diff, paths.

Belongs here: anything that decides *how* a table lands and is published, for every domain alike.
Does not belong here: domain knowledge (``warehouse.transforms``), rendering (``warehouse.outputs``), Dagster.
"""
