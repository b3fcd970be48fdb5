"""One data version per published warehouse: the latest landed for every table is built, a newer
version of some tables waits for the rest, and a mixed build only when asked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ingest.pipeline import run_ingest
from tamales_inc.core.runs import run_records_dir
from tamales_inc.core.settings import Settings
from tamales_inc.operations.gc import forget_landed
from tamales_inc.warehouse.errors import LandedDataError
from tamales_inc.warehouse.landed import plan_build
from tests.conftest import copy_home, query_warehouse, run_module

BUILD_INFO = "select data_version, table_versions, is_mixed_versions from meta.build_info"


def test_an_erp_only_version_waits_and_the_common_one_is_built(
    landed_settings: Settings, tmp_path: Path
) -> None:
    container = tmp_path / "container"
    shutil.copytree(landed_settings.source_dir, container)
    (erp,) = container.glob("tamales_inc/*/mx/20200901")
    shutil.copytree(erp, erp.with_name("20201001"))  # the ERP delivers October, the feed not yet
    copy = copy_home(landed_settings, tmp_path / "home", parts=("raw", "quarantine", "manifests"))
    settings = Settings.from_env(
        {"TAMALES_HOME": str(copy.home), "TAMALES_SOURCE_DIR": str(container)}
    )
    landed = run_ingest(settings).landed
    assert [str(table.key) for table in landed] == ["tamales_inc/20201001/monthly_sales"]

    plan = plan_build(settings)
    assert plan.data_version == "20200901" and not plan.is_mixed
    built = run_module("tamales_inc.warehouse.transform", "--no-export", home=settings.home)
    assert built.returncode == 0, built.stderr
    assert built.stderr.splitlines()[0] == (
        "transform: data version 20201001 is landed for tamales_inc/monthly_sales only: "
        "waiting for teinvento_inc/fact_table, teinvento_inc/product_dim, "
        "teinvento_inc/region_dim; building 20200901, the latest landed for every table"
    )
    assert built.stdout.startswith("transform: data_version 20200901, 6102 sales lines")
    # dbt's per-node lines are not shown without --verbose
    assert " START " not in built.stdout and "OK created" not in built.stdout
    info = query_warehouse(settings, BUILD_INFO)
    assert info.rows() == [
        (
            "20200901",
            "tamales_inc/monthly_sales=20200901, teinvento_inc/fact_table=20200901, "
            "teinvento_inc/product_dim=20200901, teinvento_inc/region_dim=20200901",
            False,
        )
    ]
    versions = query_warehouse(settings, "select distinct data_version from marts.fct_sales")
    assert versions["data_version"].to_list() == ["20200901"]


def test_no_common_version_is_refused_unless_a_mixed_build_is_asked_for(
    landed_settings: Settings, tmp_path: Path
) -> None:
    settings = copy_home(landed_settings, tmp_path / "home", parts=("raw", "manifests"))
    # the ERP's September and the feed's August are gone: no version is landed for both
    forget_landed(settings, {("tamales_inc", "20200901"), ("teinvento_inc", "20200801")})
    shutil.rmtree(settings.raw_dir / "tamales_inc" / "20200901")
    with pytest.raises(LandedDataError) as refused:
        plan_build(settings)
    assert str(refused.value) == (
        "no data version is landed for every table (tamales_inc/monthly_sales: 20200801; "
        "teinvento_inc/fact_table: 20200901; teinvento_inc/product_dim: 20200901; "
        "teinvento_inc/region_dim: 20200901): wait for the ingest to land a complete version, "
        "pin one with --data-version, or build each table's latest with --allow-mixed-versions"
    )
    cli = run_module("tamales_inc.warehouse.transform", home=settings.home)
    assert cli.returncode == 1
    assert cli.stderr == f"transform: error: {refused.value}\n"
    assert not settings.warehouse_path.exists()
    # the failed run left its record
    (record,) = run_records_dir(settings.manifests_dir, "transform").glob("*.json")
    failed = json.loads(record.read_text(encoding="utf-8"))
    assert (failed["status"], failed["error"]) == ("failed", str(refused.value))
    assert failed["options"]["allow_mixed_versions"] is False

    mixed = run_module(
        "tamales_inc.warehouse.transform",
        "--allow-mixed-versions",
        "--no-export",
        home=settings.home,
    )
    assert mixed.returncode == 0, mixed.stderr
    assert "building mixed data versions, as asked" in mixed.stderr
    assert query_warehouse(settings, BUILD_INFO).rows() == [
        (
            "20200901",
            "tamales_inc/monthly_sales=20200801, teinvento_inc/fact_table=20200901, "
            "teinvento_inc/product_dim=20200901, teinvento_inc/region_dim=20200901",
            True,
        )
    ]
    by_source = query_warehouse(
        settings, "select distinct source, data_version from marts.fct_sales order by 1"
    )
    assert by_source.rows() == [("tamales_inc", "20200801"), ("teinvento_inc", "20200901")]
