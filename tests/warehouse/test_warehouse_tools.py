"""`just sql` (read-only shell) and `just docs` (offline dbt docs served on 127.0.0.1)."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import httpx
import pytest

from tamales_inc.core.settings import Settings
from tamales_inc.warehouse import dbt_docs, sql_shell
from tamales_inc.warehouse.dbt_docs import generate_dbt_docs, make_dbt_docs_server


def test_sql_shell_runs_queries_and_refuses_writes(
    warehouse_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    database = str(warehouse_settings.warehouse_path)
    assert (
        sql_shell.main(["--database", database, "-c", "select count(*) from marts.dim_zone"]) == 0
    )
    assert "5" in capsys.readouterr().out
    assert sql_shell.main(["--database", database, "-c", "create table marts.x (i int)"]) == 1
    assert "read-only" in capsys.readouterr().err


def test_sql_shell_reads_statements_from_stdin(
    warehouse_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    script = ".tables\nselect zone_name\n  from marts.dim_zone\n where zone_id = 'e-privados';\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(script))
    database = str(warehouse_settings.warehouse_path)
    assert sql_shell.main(["--database", database]) == 0
    out = capsys.readouterr().out
    assert "marts.sales_features" in out and "E. Privados" in out


def test_sql_shell_without_warehouse_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TAMALES_HOME", str(tmp_path / "empty"))
    assert sql_shell.main(["-c", "select 1"]) == 1
    expected = tmp_path / "empty" / "warehouse" / "tamales.duckdb"
    assert capsys.readouterr().err == (
        f"sql: error: no published warehouse at {expected}: run `just transform` first\n"
    )
    assert sql_shell.main(["--database", str(tmp_path / "none.duckdb")]) == 1
    assert capsys.readouterr().err == f"sql: error: no DuckDB file at {tmp_path / 'none.duckdb'}\n"


def test_docs_without_warehouse_fail_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TAMALES_HOME", str(tmp_path / "empty"))
    assert dbt_docs.main(["--no-serve"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("docs: error: no published warehouse at ")
    assert err.endswith("run `just transform` first\n") and err.count("\n") == 1


def test_docs_are_generated_and_served_offline(
    warehouse_settings: Settings, tmp_path: Path
) -> None:
    site = generate_dbt_docs(warehouse_settings, out_dir=tmp_path / "docs")
    assert list((tmp_path / "docs").rglob("*.duckdb")) == []
    server = make_dbt_docs_server(site, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        index = httpx.get(f"{base}/", timeout=10)
        assert index.status_code == 200 and "<html" in index.text[:2000].lower()
        # no stylesheet or script is pulled from elsewhere
        assert (
            'src="http' not in index.text and '<link rel="stylesheet" href="http' not in index.text
        )
        catalog = httpx.get(f"{base}/catalog.json", timeout=10).json()
        assert "model.tamales.sales_features" in catalog["nodes"]
        columns = catalog["nodes"]["model.tamales.sales_features"]["columns"]
        assert "target_sales_next_month" in columns
        manifest = httpx.get(f"{base}/manifest.json", timeout=10).json()
        assert manifest["metadata"]["send_anonymous_usage_stats"] is False
        node = manifest["nodes"]["model.tamales.sales_features"]
        assert node["database"] == "tamales" and node["schema"] == "marts"
        assert all(column["description"] for column in node["columns"].values())
        # the site opens on the project's own overview page
        overview = manifest["docs"]["doc.tamales.__overview__"]["block_contents"]
        assert "# Tamales lakehouse warehouse" in overview and "## Where to start" in overview
        # the ml tables written by training are documented sources of the same warehouse
        forecasts = manifest["sources"]["source.tamales.ml.forecasts"]
        assert forecasts["schema"] == "ml" and forecasts["database"] == "tamales"
        assert forecasts["description"] and all(
            column["description"] for column in forecasts["columns"].values()
        )
        # exposures: who consumes the marts, at the end of the lineage graph
        api = manifest["exposures"]["exposure.tamales.sales_api"]
        training = manifest["exposures"]["exposure.tamales.training_run"]
        assert api["type"] == "application" and training["type"] == "ml"
        assert "model.tamales.sales_features" in training["depends_on"]["nodes"]
        assert {"model.tamales.fct_sales_monthly", "source.tamales.ml.forecasts"} <= set(
            api["depends_on"]["nodes"]
        )
        assert "exposure.tamales.sales_api" in manifest["child_map"]["model.tamales.dim_zone"]
    finally:
        server.shutdown()
        server.server_close()
