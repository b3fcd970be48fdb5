"""Ingest test fixtures: a real Azurite blob emulator and helpers to build small containers."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ingest_helpers import free_port, write_container

from ingest.azurite import AZURITE_BIN, connection_string
from ingest.azurite import start as start_azurite
from ingest.azurite import stop as stop_azurite


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Azurite (blob service) on a free 127.0.0.1 port, started and stopped the way `just
    azurite` does it; yields its connection string."""
    if not AZURITE_BIN.exists():
        pytest.fail(f"{AZURITE_BIN} is missing: run `npm ci` (the README's test command does)")
    emulator = start_azurite(free_port(), tmp_path_factory.mktemp("azurite"))
    try:
        yield connection_string(emulator.port)
    finally:
        stop_azurite(emulator)


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
