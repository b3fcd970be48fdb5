"""The transform's engine switch: which engine runs `dbt build` for the staged DuckDB file."""

from __future__ import annotations

from pathlib import Path

from tamales_inc.core.settings import Settings
from tamales_inc.warehouse.dbt import DbtOutcome, invoke_dbt


def dbt_build(
    settings: Settings, db_path: Path, dbt_vars: dict[str, object] | None = None
) -> DbtOutcome:
    """`dbt build` on `settings.engine`; on success the DuckDB file `db_path` holds the warehouse.

    DuckDB builds straight into `db_path`. Spark builds in its own warehouse and its relations are
    then loaded into `db_path` (tamales_inc/warehouse/spark.py); pyspark and its JVM are loaded
    only on that path.
    """
    if settings.engine == "spark":
        from tamales_inc.warehouse.spark import build_with_spark

        return build_with_spark(settings, db_path, dbt_vars)
    return invoke_dbt(settings, ["build"], db_path, dbt_vars)
