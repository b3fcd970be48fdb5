"""`python -m tamales_sales_service`: bad usage exits 2 in one line; a server takes its port from
the settings, logs as `serve: ...` and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tamales_inc.core.settings import Settings
from tamales_sales_service.__main__ import main
from tests.conftest import REPO_ROOT
from tests.service.conftest import free_port


def test_bad_usage_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TAMALES_HOME", str(tmp_path))
    assert main(["--port", "0"]) == 2
    assert capsys.readouterr().err == "serve: error: --port 0 is not a TCP port (1-65535)\n"
    assert main(["--cache-size", "-1"]) == 2
    assert capsys.readouterr().err == "serve: error: --cache-size -1 must be >= 0\n"
    # without --port, the port comes from the settings (TAMALES_API_PORT)
    monkeypatch.setenv("TAMALES_API_PORT", "70000")
    assert main([]) == 2
    assert capsys.readouterr().err == "serve: error: --port 70000 is not a TCP port (1-65535)\n"


def test_server_takes_its_port_from_the_settings_and_stops_on_sigterm(
    api_settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    env = {**os.environ, "TAMALES_HOME": str(api_settings.home), "TAMALES_API_PORT": str(port)}
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "tamales_sales_service", "--log-level", "warning"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                assert server.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                try:
                    health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            assert health.status_code == 200
        finally:
            server.terminate()
            code = server.wait(timeout=30)
    lines = log_path.read_text().splitlines()
    assert code == 143
    assert lines[0] == f"serving {api_settings.warehouse_path} on http://127.0.0.1:{port}"
    assert f"serve: serving warehouse {api_settings.warehouse_path} (data version" in lines[1]
    assert lines[-1] == "serve: stopped (SIGTERM)"
