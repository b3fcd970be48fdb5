"""/health says `degraded`, and why, whenever what is served is not what is published: a
publish that cannot be loaded (the previous warehouse keeps serving), a model that cannot be
loaded, forecasts made from another data version; /forecasts flags the latter too."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from litestar.testing import TestClient

from tamales_inc.core.settings import Settings
from tamales_sales_service.app import create_app
from tests.conftest import REPO_ROOT, query_warehouse, settings_for
from tests.service.conftest import copy_home

ABSOLUTE_PATH = re.compile(r"(?<![\w.:/-])/[\w.-]+/")


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def publish_bytes(settings: Settings, content: bytes) -> None:
    """Publish `content` as the warehouse the way the builder does (os.replace of a file)."""
    staged = settings.warehouse_dir / "staged.duckdb"
    staged.write_bytes(content)
    os.replace(staged, settings.warehouse_path)


def assert_no_paths(text: str, home: Path) -> None:
    assert str(home) not in text and not ABSOLUTE_PATH.search(text), text


def test_unloadable_publish_is_degraded_while_the_old_warehouse_serves(
    api_settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = copy_home(api_settings, tmp_path / "home")
    good = settings.warehouse_path.read_bytes()
    caplog.set_level(logging.WARNING, logger="tamales_sales_service")
    with TestClient(create_app(settings, poll_interval=0.05)) as client:
        health = client.get("/health").json()
        assert (health["status"], health["reasons"]) == ("ok", [])
        version = health["data_version"]
        sales = client.get("/sales", params={"group_by": "source"}).json()

        publish_bytes(settings, b"this is not a DuckDB file\n" * 1000)
        wait_for(lambda: client.get("/health").json()["status"] == "degraded")
        time.sleep(0.5)  # ten more polls of the same broken file
        response = client.get("/health")
        assert response.status_code == 200
        health = response.json()
        assert health["data_version"] == version
        [reason] = health["reasons"]
        assert reason.startswith("the warehouse published now cannot be loaded (")
        assert "tamales.duckdb" in reason and f"still serving data version {version}" in reason
        assert_no_paths(response.text, settings.home)
        # the previous snapshot keeps answering, with the same numbers
        assert client.get("/sales", params={"group_by": "source"}).json() == sales
        warnings = [r for r in caplog.records if "not opened" in r.getMessage()]
        assert len(warnings) == 1  # logged once, not on every poll
        assert str(settings.warehouse_path) in warnings[0].getMessage()  # the log keeps the path

        publish_bytes(settings, good)  # a good publish clears it
        wait_for(lambda: client.get("/health").json()["status"] == "ok")
        assert client.get("/health").json()["reasons"] == []


def test_no_warehouse_but_a_broken_file_is_503_without_paths(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "home")
    settings.warehouse_dir.mkdir(parents=True)
    publish_bytes(settings, b"\x00" * 4096)
    with TestClient(create_app(settings, poll_interval=0.05)) as client:
        response = client.get("/health")
        assert response.status_code == 503
        detail = response.json()["detail"]
        assert detail.startswith("no warehouse published yet (")
        assert detail.endswith("): run `just transform`")
        assert_no_paths(response.text, settings.home)
        for path in ("/sales", "/forecasts", "/products"):
            assert_no_paths(client.get(path).text, settings.home)


def test_unloadable_model_is_degraded_while_the_old_model_serves(
    api_settings: Settings, tmp_path: Path
) -> None:
    settings = copy_home(api_settings, tmp_path / "home")
    with TestClient(create_app(settings, poll_interval=0.05)) as client:
        model_version = client.get("/health").json()["model_version"]
        assert model_version is not None
        pointer = settings.models_dir / "current.tmp"
        pointer.write_text("no-such-version\n")
        os.replace(pointer, settings.models_dir / "current")
        wait_for(lambda: client.get("/health").json()["status"] == "degraded")
        response = client.get("/health")
        health = response.json()
        assert health["model_version"] == model_version
        assert health["reasons"] == [
            "the promoted model cannot be loaded (FileNotFoundError: model version "
            "'no-such-version' has no metadata.json in .../no-such-version); "
            f"still serving model {model_version}"
        ]
        assert_no_paths(response.text, settings.home)
        row = query_warehouse(
            settings,
            "select product_id, zone_id, strftime(max(sales_month), '%Y-%m') "
            "from marts.sales_features where source = 'tamales_inc' "
            "and target_sales_next_month is not null group by all order by all limit 1",
        ).row(0)
        prediction = client.post(
            "/predictions",
            json={
                "product_id": row[0],
                "zone_id": row[1],
                "source": "tamales_inc",
                "month": row[2],
            },
        )
        assert prediction.status_code == 200
        assert prediction.json()["model_version"] == model_version


@pytest.mark.slow
def test_forecasts_of_another_data_version_are_flagged(
    api_settings: Settings, tmp_path: Path
) -> None:
    """`just transform --data-version <older>` after training: the ml tables are carried over,
    so the forecasts were made from the newer version; /forecasts and /health say so."""
    home = tmp_path / "home"
    shutil.copytree(api_settings.home, home, symlinks=True)
    settings = settings_for(home)
    newer = query_warehouse(settings, "select data_version from meta.build_info").item()
    older = sorted(p.name for p in (settings.raw_dir / "tamales_inc").iterdir())[0]
    assert older < newer
    done = subprocess.run(
        [sys.executable, "-m", "tamales_inc.warehouse.transform", "--data-version", older, "-q"],
        cwd=REPO_ROOT,
        env={**os.environ, "TAMALES_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert query_warehouse(settings, "select data_version from meta.build_info").item() == older

    with TestClient(create_app(settings)) as client:
        page = client.get("/forecasts", params={"limit": 5}).json()
        assert page["total"] > 0 and len(page["items"]) == 5  # served, flagged
        assert page["data_version"] == older
        assert page["forecast_data_version"] == newer
        assert page["is_stale"] is True
        health = client.get("/health").json()
        assert health["status"] == "degraded"
        assert health["forecasts_are_stale"] is True and health["model_is_stale"] is True
        assert health["forecast_data_version"] == newer
        assert health["model_training_data_version"] == newer
        assert health["reasons"] == [
            f"the forecasts were made from data version {newer} but the warehouse holds "
            f"{older}: run `just train`"
        ]
        assert (
            health["latest_sales_month"]
            < query_warehouse(
                api_settings,
                "select strftime(max(sales_month), '%Y-%m') from marts.fct_sales_monthly",
            ).item()
        )
