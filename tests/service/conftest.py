"""Service fixtures: the app over the trained sample warehouse, a TestClient and live servers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tamales_inc.core.settings import Settings
from tamales_sales_service.app import create_app
from tamales_sales_service.snapshot import connect_read_only
from tests.conftest import REPO_ROOT, settings_for


@pytest.fixture(scope="session")
def api_settings(trained_settings: Settings) -> Settings:
    """The trained scale-1 sample home (warehouse, ml tables, promoted model)."""
    return trained_settings


@pytest.fixture(scope="session")
def app(api_settings: Settings) -> Litestar:
    return create_app(api_settings)


@pytest.fixture(scope="session")
def client(app: Litestar) -> Iterator[TestClient]:
    """A TestClient with the app's lifespan running (warehouse opened, reloader polling)."""
    with TestClient(app=app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def wh(api_settings: Settings) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the same warehouse, to compute expected values."""
    return connect_read_only(api_settings.warehouse_path)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """`python -m tamales_sales_service` on a free loopback port, stopped by PID."""

    def __init__(self, home: Path, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {**os.environ, **(env or {}), "TAMALES_HOME": str(home)}
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tamales_sales_service", "--port", str(self.port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base_url}/schema/openapi.json", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise TimeoutError(
            f"server not ready after {timeout}s: {self.log_path.read_text()[-2000:]}"
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def copy_home(source: Settings, target: Path) -> Settings:
    """A private copy of a home's warehouse and models, safe to modify."""
    target.mkdir(parents=True, exist_ok=True)
    settings = settings_for(target)
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source.warehouse_path, settings.warehouse_path)
    if source.models_dir.is_dir():
        shutil.copytree(source.models_dir, settings.models_dir, symlinks=True)
    return settings


@pytest.fixture
def live_server_factory(tmp_path: Path) -> Iterator[object]:
    """Start live servers over a given home; every one is stopped at teardown."""
    servers: list[LiveServer] = []

    def start(home: Path) -> LiveServer:
        server = LiveServer(home, tmp_path / f"server-{len(servers)}.log")
        servers.append(server)
        server.wait_ready()
        return server

    yield start
    for server in servers:
        server.stop()
