"""Tamales Inc's lakehouse: the stages after the ingest, in three subpackages.

Imports run one way, from the raw data towards the API, and an import-linter contract in CI
(`.importlinter`) fails the build on a back-edge:

    tamales_inc.core  <-  ingest  <-  tamales_inc.warehouse  <-  tamales_inc.forecasting
                                                                <-  tamales_sales_service

- `core/`: settings (the only reader of environment variables), errors, atomic files and locks,
  months, the command-line convention. Imports nothing else of the project.
- `warehouse/`: dbt runs, the atomic publish of the DuckDB warehouse, parquet exports, dbt docs,
  the SQL shell. May import `core` and the raw-data contract in `ingest.contract`.
- `forecasting/`: the feature mart's data, targets and inputs, models, backtest, metrics,
  intervals, registry, forecasts, report and the training run. May import `core` and `warehouse`.
"""
