"""The benchmark modules run as `python bench/<script>.py`, with `bench/` first on sys.path."""

from __future__ import annotations

import sys

from tests.conftest import REPO_ROOT

BENCH_DIR = str(REPO_ROOT / "bench")
if BENCH_DIR not in sys.path:
    sys.path.insert(0, BENCH_DIR)
