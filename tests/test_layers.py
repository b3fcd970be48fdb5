"""The import direction between the stages (`.importlinter`) holds, and a back-edge breaks it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO_ROOT

PACKAGES = ("ingest", "tamales_inc", "tamales_sales_service")


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_stages_import_one_way() -> None:
    result = _lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_a_back_edge_fails_the_check(tmp_path: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(
            REPO_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(REPO_ROOT / ".importlinter", tmp_path / ".importlinter")
    contract = tmp_path / "ingest" / "contract.py"
    contract.write_text(
        contract.read_text(encoding="utf-8") + "\nimport tamales_inc.forecasting.train  # noqa\n",
        encoding="utf-8",
    )
    result = _lint_imports(tmp_path)
    assert result.returncode == 1
    assert "BROKEN" in result.stdout
    assert "ingest.contract -> tamales_inc.forecasting.train" in result.stdout
