"""The API benchmark's plumbing: its docs section is rewritten between its own markers (the other
sections of the page untouched), its servers run with the API settings at their defaults, and
`POST /predictions` is driven with one registered version per model family and valid bodies."""

from __future__ import annotations

import math
from pathlib import Path

import msgspec
import pytest
from accuracy.report import DOCS_BEGIN as ACCURACY_BEGIN
from accuracy.report import DOCS_END as ACCURACY_END
from bench_api import (
    DOCS_BEGIN,
    DOCS_END,
    DOCS_PATH,
    FAMILIES,
    PREDICTION_BODIES,
    SERVER_RUNS,
    HttpRequest,
    family_versions,
    model_family,
    prediction_bodies,
    prediction_endpoint,
    private_home,
    server_env,
)
from litestar.testing import TestClient
from measure import write_section

from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.registry import (
    CURRENT_FILE,
    current_version,
    load_run_record,
    load_version,
)
from tamales_sales_service.app import create_app
from tamales_sales_service.served_model import ServedModel
from tamales_sales_service.snapshot import connect_read_only, new_cursor
from tests.conftest import settings_for


def test_the_api_section_is_rewritten_between_its_markers(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    accuracy = f"{ACCURACY_BEGIN}\n\naccuracy table\n\n{ACCURACY_END}"
    page.write_text(f"# B\n\n{accuracy}\n\n## API\n\n{DOCS_BEGIN}\nold\n{DOCS_END}\n\nreading\n")
    write_section(page, DOCS_BEGIN, DOCS_END, "| new | table |\n")
    text = page.read_text()
    assert text == (
        f"# B\n\n{accuracy}\n\n## API\n\n{DOCS_BEGIN}\n\n| new | table |\n\n{DOCS_END}\n\nreading\n"
    )
    page.write_text("no markers\n")
    with pytest.raises(SystemExit, match="lacks the markers"):
        write_section(page, DOCS_BEGIN, DOCS_END, "x")


def test_the_docs_page_has_the_api_markers_once() -> None:
    text = DOCS_PATH.read_text()
    assert text.count(DOCS_BEGIN) == text.count(DOCS_END) == 1
    assert text.index("## API") < text.index(DOCS_BEGIN) < text.index(DOCS_END)


def test_servers_run_with_the_default_api_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAMALES_API_RATE_LIMIT", "1/hour")  # would throttle the benchmark
    monkeypatch.setenv("TAMALES_API_MAX_BODY_BYTES", "10")
    settings = settings_for(tmp_path)
    default, _, limited = SERVER_RUNS
    env = server_env(settings, default.env)
    assert "TAMALES_API_RATE_LIMIT" not in env and "TAMALES_API_MAX_BODY_BYTES" not in env
    assert env["TAMALES_HOME"] == str(settings.home)
    assert Settings.from_env(env).api_rate_limit is None
    limit = Settings.from_env(server_env(settings, limited.env)).api_rate_limit
    assert limit == (1_000_000, 1)


def test_a_post_is_sent_with_its_json_body() -> None:
    body = b'{"product_id":"p1","month":"2020-01"}'
    raw = HttpRequest("POST", "/predictions", body).raw("127.0.0.1", 8000)
    head, sent = raw.split(b"\r\n\r\n")
    assert sent == body
    assert f"Content-Length: {len(body)}".encode() in head.split(b"\r\n")
    assert HttpRequest("GET", "/health").raw("h", 1) == b"GET /health HTTP/1.1\r\nHost: h:1\r\n\r\n"
    lua = HttpRequest("POST", "/predictions", body).lua()
    assert lua.endswith(r', "{\"product_id\":\"p1\",\"month\":\"2020-01\"}"}')


def test_one_version_per_family_from_the_promoted_run(
    trained_settings: Settings, tmp_path: Path
) -> None:
    private = private_home(trained_settings, tmp_path / "home")
    versions = family_versions(private)
    assert list(versions) == list(FAMILIES.values())
    current = current_version(private)
    assert current is not None and versions[model_family(private, current)] == current
    run_id = load_version(private, current).metadata["run_id"]
    assert set(versions.values()) <= set(load_run_record(private, run_id)["candidates"].values())
    kinds = {f: load_version(private, v).metadata["model_kind"] for f, v in versions.items()}
    assert kinds["XGBoost"] == "xgboost" and kinds["combination"] == "combination"
    assert kinds["statsforecast"].startswith("auto_")
    # the copy is private: the fixture's pointer is another file
    assert (private.models_dir / CURRENT_FILE) != (trained_settings.models_dir / CURRENT_FILE)


def test_prediction_bodies_are_answered_and_predicted_in_process(
    trained_settings: Settings,
) -> None:
    con = connect_read_only(trained_settings.warehouse_path)
    try:
        bodies = prediction_bodies(con)
        assert len(bodies) == PREDICTION_BODIES
        assert len({(b["source"], b["product_id"], b["zone_id"]) for b in bodies}) == len(bodies)
        assert len({b["month"] for b in bodies}) > 1
        with TestClient(app=create_app(trained_settings)) as client:
            for body in bodies:
                answer = client.post("/predictions", content=msgspec.json.encode(body))
                assert answer.status_code == 200, answer.text
                assert answer.json()["sales_month"] == body["month"]
        cur = new_cursor(con)
        for family, version in family_versions(trained_settings).items():
            served = ServedModel(load_version(trained_settings, version))
            endpoint = prediction_endpoint(family, served, bodies)
            assert endpoint.requests[0].method == "POST"
            for i in range(len(bodies)):
                row = endpoint.in_process(cur, i)
                assert isinstance(row, dict) and math.isfinite(row["yhat"])
    finally:
        con.close()
