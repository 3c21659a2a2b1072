"""Asset modules, one per domain. `pipelines.definitions` loads every module listed in ``DOMAINS``."""

DOMAINS = ("provenance", "geography", "population", "indicators")
