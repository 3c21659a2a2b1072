"""The warehouse: what lands and how it lands, in three rooms, none of which knows about Dagster.

* ``warehouse.engine``: the storage engine. The metadata registry, the Pandera contracts and DuckDB DDL
  generated from it, the loader (validate, stage, swap in one transaction), SQL files, the atomic publish,
  the build diff and where every file lives. Knows nothing of any domain.
* ``warehouse.transforms``: domain transforms. Tidy frames in, core tables and marts out (population,
  health, economy, deprivation, funding, aggregation, reconciliation), with their SQL in ``transforms/sql``.
* ``warehouse.outputs``: what people read. The HTML report, exports, the data dictionary, with their SQL
  in ``outputs/sql``.

Imports go one way: outputs and transforms use the engine; the engine uses neither.
"""
