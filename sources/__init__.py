"""Sources: how to get and read each upstream dataset.

One module per upstream source, plus the shared parts: the snapshot catalogue (`catalogue`), the
raw landing store (`landing`) and the HTTP client (`http`). Functions here turn bytes into tidy
pandas frames; they know nothing of Dagster or DuckDB, so they are plain to test.
"""
