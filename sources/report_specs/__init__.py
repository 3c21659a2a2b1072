"""Declarative extraction specs for known report tables (one TOML file each; see `sources.reports.specs`)."""
