"""A live server keeps answering while a new warehouse is published, then serves the new data."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import httpx

from tamales_inc.core.settings import Settings
from tamales_inc.warehouse.publish import staged_warehouse
from tests.service.conftest import copy_home

NEW_VERSION = "20991231"
PATHS = ["/health", "/sales?group_by=source", "/products", "/forecasts?horizon=1", "/zones/sur"]


def source_totals(client: httpx.Client) -> dict[str, float]:
    body = client.get("/sales", params={"group_by": "source"}).json()
    return {row["source"]: row["sales"] for row in body["items"]}


def test_publish_while_serving(api_settings: Settings, live_server_factory, tmp_path: Path) -> None:
    settings = copy_home(api_settings, tmp_path / "home")
    server = live_server_factory(settings.home)
    statuses: list[int] = []
    errors: list[str] = []
    versions: set[str] = set()
    stop = threading.Event()

    def stream() -> None:
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            i = 0
            while not stop.is_set():
                path = PATHS[i % len(PATHS)]
                i += 1
                try:
                    response = client.get(path)
                except httpx.HTTPError as exc:
                    errors.append(f"{path}: {exc!r}")
                    continue
                statuses.append(response.status_code)
                if response.status_code != 200:
                    errors.append(f"{path}: {response.status_code} {response.text[:200]}")
                elif path == "/health":
                    versions.add(response.json()["data_version"])

    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        old_version = client.get("/health").json()["data_version"]
        before = source_totals(client)
        n_rows = client.get("/sales", params={"source": "tamales_inc", "limit": 1}).json()["total"]

    streamer = threading.Thread(target=stream)
    streamer.start()
    try:
        time.sleep(0.5)
        # the builder's path: copy the published file, change it, publish with os.replace
        with staged_warehouse(settings, from_current=True) as staged:
            con = duckdb.connect(str(staged))
            con.execute("update meta.build_info set data_version = ?", [NEW_VERSION])
            con.execute(
                "update marts.fct_sales_monthly set sales = coalesce(sales, 0) + 1000 "
                "where source = 'tamales_inc'"
            )
            con.close()
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            deadline = time.monotonic() + 20
            while client.get("/health").json()["data_version"] != NEW_VERSION:
                assert time.monotonic() < deadline, "new warehouse not picked up within 20 s"
                time.sleep(0.05)
            time.sleep(0.5)  # keep streaming against the new file for a while
            after = source_totals(client)
    finally:
        stop.set()
        streamer.join(timeout=30)

    assert errors == []
    assert len(statuses) > 50 and set(statuses) == {200}
    assert versions == {old_version, NEW_VERSION}
    assert after["tamales_inc"] - before["tamales_inc"] == pytest_approx(1000 * n_rows)
    assert after["teinvento_inc"] == pytest_approx(before["teinvento_inc"])


def pytest_approx(value: float):  # local alias keeps the assertion lines short
    import pytest

    return pytest.approx(value, rel=1e-9)
