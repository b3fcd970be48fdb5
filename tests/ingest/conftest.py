"""Ingest test fixtures: a real Azurite blob emulator and helpers to build small containers."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ingest_helpers import ACCOUNT, ACCOUNT_KEY, write_container

REPO_ROOT = Path(__file__).resolve().parents[2]
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"azurite-blob exited early with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"azurite-blob did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start Azurite (blob service) on a free 127.0.0.1 port; yield its connection string."""
    if not AZURITE_BIN.exists():
        pytest.fail(f"{AZURITE_BIN} is missing: run `npm ci` (the README's test command does)")
    port = _free_port()
    location = tmp_path_factory.mktemp("azurite")
    log = open(location / "azurite.log", "wb")  # closed at teardown
    process = subprocess.Popen(
        [
            str(AZURITE_BIN),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--location",
            str(location),
            "--skipApiVersionCheck",
            "--silent",
            "--loose",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_until_listening(port, process, timeout=30)
        yield (
            "DefaultEndpointsProtocol=http;"
            f"AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
        )
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log.close()


@pytest.fixture
def make_container(tmp_path: Path) -> Callable[..., Path]:
    """Build a local container folder under tmp_path from `{blob name: content}`."""

    def make(files: dict[str, str | bytes], name: str = "container") -> Path:
        root = tmp_path / name
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        return write_container(root, files)

    return make


@pytest.fixture
def container_name() -> str:
    """A fresh, valid container name."""
    return f"tamales-{uuid.uuid4().hex[:12]}"
