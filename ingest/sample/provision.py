"""The built-in sample container, generated once under `$TAMALES_HOME` when no source is set."""

from __future__ import annotations

import logging
from pathlib import Path

from ingest.sample.writer import generate
from tamales_inc.core.files import TEMP_MARK, remove_path
from tamales_inc.core.settings import Settings

log = logging.getLogger(__name__)


def ensure_sample_container(settings: Settings) -> Path:
    """Generate the built-in sample container once (atomically) under `sample_container_dir`."""
    target = settings.sample_container_dir
    if target.is_dir():
        return target
    # `generate` builds in a hidden temp folder beside the target and renames it into place; a
    # killed run's folder is swept here.
    for stale in target.parent.glob(f".{target.name}{TEMP_MARK}*"):
        remove_path(stale)
    log.info("no source configured; generating the sample container in %s", target)
    generate(target)
    return target
