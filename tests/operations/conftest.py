"""Operations fixtures: a trained home rebuilt at the older data version, in a folder whose
name holds an apostrophe."""

from __future__ import annotations

import subprocess

import pytest

from tamales_inc.core.settings import Settings
from tests.conftest import copy_home, run_module


@pytest.fixture(scope="session")
def older_build(
    trained_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Settings, subprocess.CompletedProcess[str]]:
    """A copy of the trained home under `.../o'brien<n>/home`, rebuilt by the transform command
    at data version 20200801 (the training outputs of 20200901 carried over): the published
    forecasts no longer match the published data. Tests copy it before changing anything."""
    home = tmp_path_factory.mktemp("o'brien") / "home"
    settings = copy_home(trained_settings, home)
    done = run_module("tamales_inc.warehouse.transform", "--data-version", "20200801", home=home)
    return settings, done
