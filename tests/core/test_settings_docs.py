"""Every environment variable the settings read is documented in the README, and the gc
settings refuse nonsense in one line."""

from __future__ import annotations

import re

import pytest

from tamales_inc.core.settings import ENVIRONMENT, Settings
from tests.conftest import REPO_ROOT


def test_every_variable_is_in_the_readme_configuration_table() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([A-Z][A-Z_]+)`", table))
    assert set(ENVIRONMENT) <= documented, set(ENVIRONMENT) - documented


def test_keep_settings_default_and_refuse_nonsense() -> None:
    settings = Settings.from_env({"TAMALES_HOME": "/tmp/x"})
    assert (settings.keep_data_versions, settings.keep_models) == (3, 5)
    tuned = Settings.from_env({"TAMALES_KEEP_DATA_VERSIONS": "1", "TAMALES_KEEP_MODELS": "9"})
    assert (tuned.keep_data_versions, tuned.keep_models) == (1, 9)
    for bad in ("0", "-2", "three"):
        message = f"TAMALES_KEEP_MODELS '{bad}' is not a positive whole number"
        with pytest.raises(ValueError, match=message):
            Settings.from_env({"TAMALES_KEEP_MODELS": bad})
