"""No input yields a 5xx: deep JSON, huge and malformed bodies get 4xx with a reason; the body
limit, the CORS policy and the rate limit follow the settings."""

from __future__ import annotations

import inspect
import logging
import math
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient

from tamales_inc.core.settings import Settings
from tamales_sales_service.__main__ import main
from tamales_sales_service.app import create_app
from tamales_sales_service.rate_limit import TokenBuckets
from tamales_sales_service.request_policy import reject_repeated_parameters
from tests.conftest import settings_for

PREDICTION = {
    "product_id": "tamal-mix-dulce-regular",
    "zone_id": "norte",
    "source": "tamales_inc",
    "month": "2020-08",
}
NESTED_TOO_DEEP = "invalid body: JSON nested too deeply"
JSON = {"content-type": "application/json"}


def nested(depth: int) -> dict[str, str]:
    """Bodies nested `depth` levels: arrays, objects, and an array as a field's value."""
    return {
        "arrays": "[" * depth + "]" * depth,
        "objects": '{"a":' * depth + "1" + "}" * depth,
        "in a field": '{"product_id": ' + "[" * depth + "]" * depth + "}",
    }


@pytest.fixture
def service_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="tamales_sales_service")
    return caplog


def test_deeply_nested_json_is_400_and_logs_nothing(
    client: TestClient, service_logs: pytest.LogCaptureFixture
) -> None:
    for depth in (1_000, 10_000):  # 10,000 objects: 60,001 bytes, under the limit
        for kind, body in nested(depth).items():
            response = client.post("/predictions", content=body, headers=JSON)
            assert response.status_code == 400, (depth, kind, response.text)
            assert response.json()["detail"] == NESTED_TOO_DEEP, (depth, kind)
    assert [r.getMessage() for r in service_logs.records] == []


def test_shallow_nesting_is_a_type_error_naming_the_field(client: TestClient) -> None:
    response = client.post("/predictions", content=nested(50)["in a field"], headers=JSON)
    assert response.status_code == 400
    assert "'product_id'" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("{", "invalid body: malformed JSON (Input data was truncated)"),
        ('{"product_id": "x",}', "invalid body: malformed JSON (JSON is malformed: "),
        ("", "invalid body: a JSON object is required"),
        ("null", "invalid body parameter 'data': Expected `object`, got `null`"),
        ("[1, 2]", "invalid body parameter 'data': Expected `object`, got `array`"),
        ('"text"', "invalid body parameter 'data': Expected `object`, got `str`"),
    ],
)
def test_malformed_or_wrong_body_is_400_with_a_reason(
    client: TestClient, body: str, detail: str
) -> None:
    response = client.post("/predictions", content=body, headers=JSON)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)


def test_default_body_limit_is_64_kib(client: TestClient) -> None:
    limit = Settings.from_env({}).api_max_body_bytes
    assert limit == 65536
    padding = " " * (limit - len('{"product_id": 1}'))  # JSON allows the white space
    at_limit = '{"product_id": 1}' + padding
    assert len(at_limit) == limit
    response = client.post("/predictions", content=at_limit, headers=JSON)
    assert response.status_code == 400  # read and decoded: the type is wrong
    response = client.post("/predictions", content=at_limit + " ", headers=JSON)
    assert response.status_code == 413
    assert response.json()["detail"] == (
        "request body too large: this API reads at most 65536 bytes"
    )


@pytest.fixture(scope="module")
def hardened_server(api_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A live server with a 4 KiB body limit, CORS for one origin and a 5 per minute limit."""
    from tests.service.conftest import LiveServer

    log_dir = tmp_path_factory.mktemp("hardened")
    server = LiveServer(
        api_settings.home,
        log_dir / "server.log",
        env={
            "TAMALES_API_MAX_BODY_BYTES": "4096",
            "TAMALES_API_CORS_ORIGINS": "https://dash.example.com",
            "TAMALES_API_RATE_LIMIT": "5/minute",
        },
    )
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def _client(server, forwarded_for: str) -> httpx.Client:
    """A client the server sees as `forwarded_for` (uvicorn trusts X-Forwarded-For from
    127.0.0.1, as from a local reverse proxy): each test is its own client of the rate limit."""
    return httpx.Client(
        base_url=server.base_url, headers={"X-Forwarded-For": forwarded_for}, timeout=30
    )


def test_live_server_body_limit_and_nesting(hardened_server) -> None:
    with _client(hardened_server, "10.0.0.1") as client:
        too_big = '{"product_id": "' + "x" * 4100 + '"}'
        response = client.post("/predictions", content=too_big, headers=JSON)
        assert response.status_code == 413
        assert response.json()["detail"] == (
            "request body too large: this API reads at most 4096 bytes"
        )

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
            for _ in range(64):
                yield b" " * 1024

        response = client.post("/predictions", content=chunks(), headers=JSON)
        assert response.status_code == 413
        response = client.post("/predictions", content="[" * 1000 + "]" * 1000, headers=JSON)
        assert response.status_code == 400
        assert response.json()["detail"] == NESTED_TOO_DEEP
    log = hardened_server.log_path.read_text()
    assert "Traceback" not in log and "RecursionError" not in log


def test_cors_headers_only_for_the_allowed_origin(hardened_server) -> None:
    allowed, other = "https://dash.example.com", "https://evil.example.net"
    with _client(hardened_server, "10.0.0.2") as client:
        response = client.get("/zones", headers={"Origin": allowed})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == allowed
        assert "Origin" in response.headers["vary"]
        response = client.get("/zones", headers={"Origin": other})
        assert response.status_code == 200
        assert "access-control-allow-origin" not in response.headers
        preflight = {"Access-Control-Request-Method": "POST"}
        response = client.options("/predictions", headers={"Origin": allowed, **preflight})
        assert response.status_code == 204
        assert response.headers["access-control-allow-origin"] == allowed
        assert set(response.headers["access-control-allow-methods"].split(", ")) >= {"POST"}
        response = client.options("/predictions", headers={"Origin": other, **preflight})
        assert response.status_code == 400
        assert "access-control-allow-origin" not in response.headers


def test_no_cors_headers_by_default(client: TestClient) -> None:
    response = client.get("/zones", headers={"Origin": "https://dash.example.com"})
    assert response.status_code == 200
    assert not [h for h in response.headers if h.lower().startswith("access-control-")]


def test_rate_limit_answers_429_with_retry_after(hardened_server) -> None:
    with _client(hardened_server, "10.0.0.3") as client:
        statuses = [client.get("/zones").status_code for _ in range(5)]
        assert statuses == [200] * 5
        response = client.get("/zones")
        assert response.status_code == 429
        retry_after = int(response.headers["retry-after"])
        assert 1 <= retry_after <= 12  # a token comes back every 60/5 = 12 s
        assert response.headers["ratelimit-policy"] == "5;w=60"
        assert response.json()["detail"] == (
            f"rate limit of 5 requests per 60 s exceeded; retry after {retry_after} s"
        )
        assert client.get("/health").status_code == 200  # probes are never throttled
    with _client(hardened_server, "10.0.0.4") as other:  # another client has its own budget
        assert other.get("/zones").status_code == 200


def test_no_rate_limit_by_default(client: TestClient) -> None:
    assert Settings.from_env({}).api_rate_limit is None
    assert {client.get("/zones").status_code for _ in range(300)} == {200}


def test_token_buckets_refill_per_client() -> None:
    now = [0.0]
    buckets = TokenBuckets(2, 10, max_clients=2, clock=lambda: now[0])
    assert [buckets.take("a"), buckets.take("a")] == [0.0, 0.0]
    assert buckets.take("a") == pytest.approx(5.0)  # 2 per 10 s: one token every 5 s
    assert buckets.take("b") == 0.0
    now[0] = 2.5
    assert buckets.take("a") == pytest.approx(2.5)  # half a token refilled, not spent
    now[0] = 5.0
    assert buckets.take("a") == 0.0
    now[0] = 1_000.0
    assert [buckets.take("a"), buckets.take("a"), buckets.take("a") > 0] == [0.0, 0.0, True]
    buckets.take("c")  # a third client: the least recently seen one ("b") is forgotten
    assert set(buckets._buckets) == {"a", "c"}
    assert math.isclose(buckets.rate, 0.2)


@pytest.mark.parametrize(
    ("env", "field", "value"),
    [
        ({"TAMALES_API_MAX_BODY_BYTES": "1024"}, "api_max_body_bytes", 1024),
        ({"TAMALES_API_RATE_LIMIT": "600/minute"}, "api_rate_limit", (600, 60)),
        ({"TAMALES_API_RATE_LIMIT": "20/second"}, "api_rate_limit", (20, 1)),
        ({"TAMALES_API_RATE_LIMIT": "off"}, "api_rate_limit", None),
        (
            {"TAMALES_API_CORS_ORIGINS": "https://a.example, http://localhost:3000/"},
            "api_cors_origins",
            ("https://a.example", "http://localhost:3000"),
        ),
    ],
)
def test_settings_read_the_api_limits(env: dict[str, str], field: str, value: object) -> None:
    assert getattr(Settings.from_env(env), field) == value


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TAMALES_API_MAX_BODY_BYTES", "0", "TAMALES_API_MAX_BODY_BYTES '0' is not a positive"),
        ("TAMALES_API_RATE_LIMIT", "5 per minute", "TAMALES_API_RATE_LIMIT '5 per minute' is not"),
        ("TAMALES_API_RATE_LIMIT", "0/second", "TAMALES_API_RATE_LIMIT '0/second' is not"),
        ("TAMALES_API_CORS_ORIGINS", "dash.example.com", "TAMALES_API_CORS_ORIGINS entry"),
    ],
)
def test_bad_api_setting_stops_serve_in_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TAMALES_HOME", str(tmp_path))
    monkeypatch.setenv(name, value)
    assert main(["--port", "8123"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"serve: error: ValueError: {message}")


def test_limits_apply_to_an_app_built_from_settings(tmp_path: Path) -> None:
    """create_app reads the limits from its settings (no warehouse needed for these answers)."""
    settings = settings_for(
        tmp_path, TAMALES_API_MAX_BODY_BYTES=16, TAMALES_API_RATE_LIMIT="2/hour"
    )
    with TestClient(create_app(settings)) as client:
        response = client.post("/predictions", content=b"{" + b" " * 16 + b"}", headers=JSON)
        assert response.status_code == 413
        assert client.get("/zones").status_code == 503  # the second request of the budget
        response = client.get("/zones")
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) == 1800


def test_the_parameter_check_runs_on_the_event_loop() -> None:
    """Litestar runs a sync before_request hook in a worker thread: a hop on every request."""
    assert inspect.iscoroutinefunction(reject_repeated_parameters)
