"""The interactive docs render in headless Chromium with every asset served by the API itself."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from litestar.testing import TestClient

from tamales_inc.core.settings import Settings
from tests.service.test_schemathesis import OPERATIONS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ASSETS = ["swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"]


def test_openapi_schema_documents_every_operation(client: TestClient) -> None:
    schema = client.get("/schema/openapi.json").json()
    documented = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
    assert documented == set(OPERATIONS)
    sales = {p["name"]: p for p in schema["paths"]["/sales"]["get"]["parameters"]}
    # group_by is one or more dimensions, comma-separated (was: one dimension, an enum)
    group_by = sales["group_by"]["schema"]["pattern"]
    for value in ("month", "product", "zone", "source", "zone,month", "source,product,zone,month"):
        assert re.fullmatch(group_by, value), value
    for value in ("store", "zone,", ",zone", "zone;month", "zone,month,product,source,zone"):
        assert not re.fullmatch(group_by, value), value
    assert sales["from"]["schema"]["pattern"] == sales["to"]["schema"]["pattern"]


def test_every_operation_and_parameter_is_described(client: TestClient) -> None:
    """Each operation has a summary and a description, each parameter and request body a
    description, and each documented answer a description."""
    schema = client.get("/schema/openapi.json").json()
    missing = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            for key in ("summary", "description", "operationId"):
                if not operation.get(key, "").strip():
                    missing.append(f"{where}: no {key}")
            if operation["summary"].lower() == operation["operationId"].lower():
                missing.append(f"{where}: the summary only repeats the operation id")
            for parameter in operation.get("parameters", []):
                if not parameter.get("description", "").strip():
                    missing.append(f"{where}: parameter {parameter['name']} has no description")
            body = operation.get("requestBody")
            if body is not None:  # Litestar puts the body's description on its schema
                schemas = [c["schema"] for c in body["content"].values()]
                if not all(s.get("description", "").strip() for s in schemas):
                    missing.append(f"{where}: the request body has no description")
            for code, answer in operation["responses"].items():
                if not answer.get("description", "").strip():
                    missing.append(f"{where}: answer {code} has no description")
    assert missing == []
    assert len(schema["paths"]) == len({p for _, p in OPERATIONS})


def test_docs_page_references_only_local_assets(client: TestClient) -> None:
    page = client.get("/schema/swagger").text
    refs = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page)
    assert sorted(refs) == sorted(
        [f"/static/swagger-ui/{name}" for name in ASSETS] + ["/static/swagger-ui/favicon-32x32.png"]
    )
    for name in ASSETS:
        response = client.get(f"/static/swagger-ui/{name}")
        assert response.status_code == 200 and len(response.content) > 10_000
    css = client.get("/static/swagger-ui/swagger-ui.css").text
    assert not re.search(r"url\(\s*['\"]?https?:", css)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_docs_render_offline_in_headless_chromium(
    api_settings: Settings, live_server_factory, tmp_path: Path
) -> None:
    server = live_server_factory(api_settings.home)
    origin = server.base_url
    netlog = tmp_path / "netlog.json"
    result = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            # nothing but loopback resolves: the page must work with no internet at all
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--log-net-log={netlog}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            f"{origin}/schema/swagger",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    # Swagger UI rendered the operations (React output, not the server's HTML)
    assert 'class="swagger-ui"' in dom
    for operation_id in ("listSales", "getProduct", "createPrediction", "getCurrentModel"):
        assert f"-{operation_id}" in dom, operation_id
    for path in ("/sales", "/forecasts", "/predictions", "/models/current"):
        assert f'data-path="{path}"' in dom, path
    # every request the page made went to the service itself
    events = json.loads(netlog.read_text())["events"]
    page_requests = {
        e["params"]["url"]
        for e in events
        if e.get("params", {}).get("initiator") == origin and "url" in e["params"]
    }
    assert {f"{origin}/static/swagger-ui/{name}" for name in ASSETS} <= page_requests
    leaving = [u for u in page_requests if urlsplit(u).netloc != urlsplit(origin).netloc]
    assert leaving == []
