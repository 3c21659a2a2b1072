"""Outputs people read: the HTML report, exports (Parquet/CSV + datapackage.json), the data dictionary.

Belongs here: anything that reads the published warehouse and writes a file for people or other tools,
with its SQL in ``sql/``. Reads through ``warehouse.engine``; never writes the warehouse.
"""
