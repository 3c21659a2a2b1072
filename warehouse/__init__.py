"""The warehouse: what lands in DuckDB and how it lands.

Belongs here: the metadata registry (`warehouse.registry`), the Pandera contracts and DuckDB DDL
generated from it, the loader (validate, stage, swap in one transaction), SQL models (`sql/*.sql`),
atomic publishing of the warehouse file, and the data dictionary. Nothing here imports Dagster.
"""
