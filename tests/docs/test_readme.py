"""The README's configuration table and command list cannot drift from the code."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from docs.configuration import readme_table, table
from tamales_inc.core.settings import ENVIRONMENT
from tests.conftest import REPO_ROOT

README = REPO_ROOT / "README.md"


def test_configuration_table_is_the_settings_list() -> None:
    expected = table(ENVIRONMENT)
    assert readme_table(README.read_text("utf-8")) == expected, (
        "README's configuration table differs from tamales_inc.core.settings.ENVIRONMENT: "
        "run `uv run python docs/configuration.py --write`"
    )
    assert all(f"`{name}`" in expected for name in ENVIRONMENT)


def test_every_variable_read_is_in_the_settings_list() -> None:
    source = (REPO_ROOT / "tamales_inc" / "core" / "settings.py").read_text("utf-8")
    read = set(re.findall(r"merged\.get\(\"([A-Z_]+)\"", source))
    assert read and read <= set(ENVIRONMENT)


def recipes() -> list[str]:
    just = shutil.which("just", path=str(Path(sys.executable).parent)) or shutil.which("just")
    assert just, "just is a dev dependency (rust-just)"
    out = subprocess.run(
        [just, "--summary", "--unsorted"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return [name for name in out.stdout.split() if name != "default"]


def test_every_recipe_is_in_the_commands_table() -> None:
    text = README.read_text("utf-8")
    section = text.split("## Commands", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `just ([a-z0-9-]+)`", section, re.MULTILINE)
    assert sorted(listed) == sorted(recipes())
