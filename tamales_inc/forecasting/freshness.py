"""Is the published training up to date? The training's inputs, fingerprinted, against the
fingerprint the run that published the `ml` tables recorded in `ml.model_runs`.

The inputs: the published warehouse's build identity (the transform's inputs fingerprint in
`meta.build_info`, not the file's sha256, which changes each time training publishes `ml.*`),
the forecasting package's code, the versions of the libraries that fit the models, and the
training parameters (seed, horizons, origins). Cheap to import (no polars, no xgboost): the
`train` command checks before it imports the models.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tamales_inc.core.errors import TamalesError
from tamales_inc.core.fingerprint import (
    Fingerprint,
    digest,
    distribution_versions,
    package_digest,
)
from tamales_inc.core.settings import Settings

FORECASTING_PACKAGE_DIR = Path(__file__).resolve().parent
LIBRARIES = ("xgboost", "xgboost-cpu", "statsforecast", "polars", "numpy", "duckdb")
BUILD_INFO = "meta.build_info"
MODEL_RUNS = "ml.model_runs"
# the last training run first, its champion's row first (a run has a row per candidate)
LAST_RUN_FIRST = "order by trained_at desc, run_id desc, is_champion desc"
_NO_BUILD = digest(None)


@dataclass(frozen=True)
class PublishedTraining:
    """The latest run recorded in the published warehouse's `ml.model_runs`."""

    model_version: str
    training_data_version: str | None
    trained_at: datetime
    inputs: Fingerprint | None


@dataclass(frozen=True)
class UpToDate:
    """A training skipped because the published one has the same inputs."""

    training: PublishedTraining

    def summary(self) -> str:
        run = self.training
        return (
            f"train: up to date (model {run.model_version}, trained "
            f"{run.trained_at:%Y-%m-%d %H:%M} UTC on data version {run.training_data_version} "
            "from the same inputs; --force retrains)"
        )


@contextmanager
def _published(settings: Settings) -> Iterator[object | None]:
    """A read-only connection to the published warehouse, or None when there is none."""
    path = settings.warehouse_path
    if not path.is_file():
        yield None
        return
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        yield None
        return
    try:
        yield con
    finally:
        con.close()


def build_identity(settings: Settings) -> str | None:
    """The published warehouse's build identity (its transform inputs fingerprint), or None for
    no warehouse or one built before builds recorded their inputs."""
    import duckdb

    with _published(settings) as con:
        if con is None:
            return None
        try:
            row = con.execute(  # type: ignore[attr-defined]
                f"select inputs_fingerprint from {BUILD_INFO} order by built_at desc"
            ).fetchone()
        except duckdb.Error:
            return None
    return None if row is None else row[0]


def training_fingerprint(
    settings: Settings,
    *,
    seed: int,
    horizons: tuple[int, ...],
    n_origins: int,
    code_dir: Path = FORECASTING_PACKAGE_DIR,
) -> Fingerprint:
    """The fingerprint of a training run with these parameters on the published warehouse, with
    the forecasting code in `code_dir`."""
    return Fingerprint.of(
        warehouse_build=build_identity(settings),
        code=package_digest(code_dir),
        libraries=distribution_versions(*LIBRARIES),
        params={"seed": seed, "horizons": list(horizons), "n_origins": n_origins},
    )


def published_training(settings: Settings) -> PublishedTraining | None:
    """The run that published the warehouse's `ml` tables, or None when there is none (or it
    was trained before runs recorded their inputs)."""
    import duckdb

    with _published(settings) as con:
        if con is None:
            return None
        try:
            row = con.execute(  # type: ignore[attr-defined]
                "select model_version, training_data_version, trained_at, inputs "
                f"from {MODEL_RUNS} {LAST_RUN_FIRST} limit 1"
            ).fetchone()
        except duckdb.Error:
            return None
    if row is None:
        return None
    version, data_version, trained_at, inputs = row
    return PublishedTraining(version, data_version, trained_at, Fingerprint.from_json(inputs))


def check_up_to_date(
    settings: Settings, fingerprint: Fingerprint, *, report: bool
) -> UpToDate | list[str]:
    """UpToDate when the published training has this fingerprint and its model (and report,
    when asked for) is in place; otherwise the names of the inputs that changed."""
    if fingerprint.parts.get("warehouse_build") == _NO_BUILD:
        return ["no published build with recorded inputs"]
    training = published_training(settings)
    if training is None:
        return ["no published training with recorded inputs"]
    changed = fingerprint.changed(training.inputs.parts if training.inputs else None)
    if changed:
        return changed
    if not (settings.models_dir / training.model_version).is_dir():
        return [f"model {training.model_version} missing from the registry"]
    if report and not (settings.reports_dir / training.model_version).is_dir():
        return ["report missing"]
    return UpToDate(training)


def registered_with(
    settings: Settings, fingerprint: Fingerprint, model_name: str, metadata_file: str
) -> str | None:
    """The newest registered version of `model_name` trained from these inputs (its
    `metadata_file` records the same fingerprint), or None: a run with the same inputs reuses
    it rather than storing the same model twice."""
    import json

    if not settings.models_dir.is_dir():
        return None
    for folder in sorted(settings.models_dir.iterdir(), reverse=True):
        path = folder / metadata_file
        if folder.name.startswith(".") or not path.is_file():
            continue
        try:
            metadata = json.loads(path.read_text(encoding="utf-8"))
            recorded = (metadata.get("inputs_fingerprint"), metadata.get("model_name"))
        except (OSError, ValueError, AttributeError):
            continue
        if recorded == (fingerprint.value, model_name):
            return folder.name
    return None


class TrainingChanged(TamalesError):
    """The published warehouse changed while a training ran; nothing was published."""


def describe_change(settings: Settings, inputs: Fingerprint) -> str:
    """What changed the published warehouse while a run with `inputs` trained: a transform (a
    new build) or another training run (same build, new `ml` tables)."""
    if digest(build_identity(settings)) != inputs.parts.get("warehouse_build"):
        return "a transform published a new build while this run trained"
    training = published_training(settings)
    if training is not None:
        return f"another train run published model {training.model_version} meanwhile"
    return "another process replaced it meanwhile"
