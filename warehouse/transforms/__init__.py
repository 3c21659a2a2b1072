"""Domain transforms: frames parsed by ``sources`` become core tables and marts.

Belongs here: population, health, economy, deprivation, funding, aggregation and reconciliation logic,
and its SQL in ``sql/``. Uses ``warehouse.engine``; never renders output, never imports Dagster.
"""
