"""Warehouse stage: dbt builds the DuckDB warehouse from the landed parquet; publish, export, docs.

May import `tamales_inc.core` and the raw-data contract (`ingest.contract`); never forecasting or
the service.
"""
