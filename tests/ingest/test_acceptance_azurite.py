"""Bad deliveries in a real blob container (Azurite): rejected in one line, landing kept."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from deliveries import SCENARIOS, Scenario, error_pattern, landed_bytes
from ingest_helpers import sync_container, upload_folder

from ingest.pipeline import run_ingest
from tamales_inc.core.settings import Settings

pytestmark = pytest.mark.azurite
REPO_ROOT = Path(__file__).resolve().parents[2]
# where the source matters: empty blobs, listing under the prefixes, Spark markers and parts
AZURE_SCENARIOS = [
    s
    for s in SCENARIOS
    if s.name
    in {
        "zero-byte-erp",
        "extra-column",
        "backup-copy",
        "us-country",
        "parquet-parts",
        "no-success-marker",
    }
]


@pytest.mark.parametrize("scenario", AZURE_SCENARIOS, ids=[s.name for s in AZURE_SCENARIOS])
def test_a_bad_delivery_in_azure_is_rejected_and_the_previous_landing_kept(
    scenario: Scenario, azurite: str, container_name: str, sample_container: Path, tmp_path: Path
) -> None:
    upload_folder(azurite, container_name, sample_container)
    env = {
        "TAMALES_HOME": str(tmp_path / "home"),
        "AZURE_STORAGE_CONNECTION_STRING": azurite,
        "TAMALES_CONTAINER": container_name,
    }
    first = run_ingest(Settings.from_env(env))
    assert len(first.landed) == 8
    before = landed_bytes(tmp_path / "home")
    edited = tmp_path / "edited"
    shutil.copytree(sample_container, edited)
    scenario.edit(edited)
    sync_container(azurite, container_name, edited)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TAMALES_", "AZURE_"))}
    result = subprocess.run(
        [sys.executable, "-m", "ingest"],
        cwd=REPO_ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert error_pattern(scenario, edited).fullmatch(result.stderr), result.stderr
    assert f"1 delivery rejected ({scenario.delivery})" in result.stdout.splitlines()[-1]
    assert landed_bytes(tmp_path / "home") == before
    assert not list((tmp_path / "home").rglob(".*.tmp-*"))
