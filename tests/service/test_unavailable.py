"""Before a warehouse, model or forecasts exist the API answers clearly (503/404), never 500."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import duckdb
from litestar.testing import TestClient

from tamales_inc.core.settings import Settings
from tamales_sales_service.app import create_app
from tests.conftest import settings_for

PREDICTION = {
    "product_id": "tamal-mix-dulce-regular",
    "zone_id": "norte",
    "source": "tamales_inc",
    "month": "2020-08",
}


def wait_for(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_no_warehouse_is_503_everywhere(tmp_path: Path) -> None:
    with TestClient(create_app(settings_for(tmp_path), poll_interval=0.05)) as client:
        health = client.get("/health")
        assert health.status_code == 503
        # the body says what to do, never where the server keeps its files
        assert health.json()["detail"] == "no warehouse published yet: run `just transform`"
        assert str(tmp_path) not in health.text
        for path in ("/products", "/zones/norte", "/sales", "/features", "/forecasts"):
            assert client.get(path).status_code == 503, path
        assert client.post("/predictions", json=PREDICTION).status_code == 503
        assert client.get("/schema/openapi.json").status_code == 200


def test_warehouse_without_ml_then_published_without_restart(
    api_settings: Settings, tmp_path: Path
) -> None:
    """No ml tables or model: clear answers; after a publish the same app serves them."""
    settings = settings_for(tmp_path / "home")
    settings.warehouse_dir.mkdir(parents=True)
    staged = settings.warehouse_dir / "staged.duckdb"
    shutil.copyfile(api_settings.warehouse_path, staged)
    con = duckdb.connect(str(staged))
    con.execute("drop schema ml cascade")
    con.close()
    os.replace(staged, settings.warehouse_path)

    with TestClient(create_app(settings, poll_interval=0.05)) as client:
        assert client.get("/health").json()["model_version"] is None
        health = client.get("/health").json()
        assert health["status"] == "degraded"
        assert health["reasons"] == [
            "no model promoted yet: run `just train`",
            "no forecasts published yet: run `just train`",
        ]
        assert health["forecasts_are_stale"] is None and health["model_is_stale"] is None
        forecasts = client.get("/forecasts")
        assert forecasts.status_code == 503
        assert "no forecasts" in forecasts.json()["detail"]
        model = client.get("/models/current")
        assert model.status_code == 404
        assert "no model promoted yet" in model.json()["detail"]
        prediction = client.post("/predictions", json=PREDICTION)
        assert prediction.status_code == 503
        assert "just train" in prediction.json()["detail"]
        assert client.get("/sales", params={"group_by": "zone"}).status_code == 200

        # the trainer publishes: models first, then the warehouse with the ml tables
        shutil.copytree(api_settings.models_dir, settings.models_dir)
        shutil.copyfile(api_settings.warehouse_path, staged)
        os.replace(staged, settings.warehouse_path)
        wait_for(lambda: client.get("/forecasts").status_code == 200)
        wait_for(lambda: client.get("/models/current").status_code == 200)
        assert client.post("/predictions", json=PREDICTION).status_code == 200
        assert client.get("/health").json()["model_version"] is not None
        wait_for(lambda: client.get("/health").json()["status"] == "ok")
