"""The EDA notebook runs headless on a trained home: a broken cell fails the build."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tamales_inc.core.settings import ENVIRONMENT, Settings
from tests.conftest import REPO_ROOT

NOTEBOOK = REPO_ROOT / "notebooks" / "eda.py"


def export_html(notebook: Path, home: Path, out: Path) -> subprocess.CompletedProcess[str]:
    marimo = Path(sys.executable).with_name("marimo")
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT}
    env["TAMALES_HOME"] = str(home)
    return subprocess.run(
        [str(marimo), "export", "html", str(notebook), "-o", str(out), "--no-include-code"],
        cwd=out.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_notebook_runs_on_the_trained_sample(trained_settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "eda.html"
    proc = export_html(NOTEBOOK, trained_settings.home, out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    page = out.read_text("utf-8")
    # the figures and tables of each section are in the page
    for text in ("Series per product and zone", "spring-2020 shock", "Backtest errors"):
        assert text in page
    assert page.count("data:image/png;base64") >= 7


def test_a_failing_cell_fails_the_export(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text(
        "import marimo\n\napp = marimo.App()\n\n\n@app.cell\ndef _():\n    1 / 0\n    return\n"
    )
    proc = export_html(broken, tmp_path, tmp_path / "broken.html")
    assert proc.returncode != 0
    assert "ZeroDivisionError" in proc.stderr or "division by zero" in proc.stderr
