"""Asset modules, one per domain. `pipelines.definitions` loads every module listed in ``DOMAINS``."""

DOMAINS = ("provenance", "geography", "population", "health", "indicators", "economy", "deprivation", "funding", "reports", "reconciliation")
