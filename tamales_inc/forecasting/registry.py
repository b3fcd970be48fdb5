"""Model registry: `models/<version>/` artifact directories (every candidate of every run),
`models/runs/<run_id>.json` run records, and the `models/current` pointer.

    models/
      <version>/            one candidate fitted on every month: model.json, history.parquet,
                            the family's files, intervals.json, metadata.json
      runs/<run_id>.json    what one run registered: every candidate's version, the champion,
                            whether it was promoted, the data it read, the selection figures
      current               one line: the promoted version
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from tamales_inc.core.files import atomic_output, write_json_atomic, write_text_atomic
from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.data import SERIES_KEYS
from tamales_inc.forecasting.intervals import LEVELS, apply_intervals, level_tag
from tamales_inc.forecasting.models import Forecaster

METADATA_FILE = "metadata.json"
INTERVALS_FILE = "intervals.json"
CURRENT_FILE = "current"
RUNS_DIR = "runs"

PREDICTION_OUTPUT: tuple[str, ...] = (
    "yhat",
    *(f"yhat_{side}_{level_tag(level)}" for level in LEVELS for side in ("lower", "upper")),
)


def new_version(settings: Settings, trained_at: datetime, model_name: str) -> str:
    """A sortable, unused version name: `<UTC yyyymmddThhmmssZ>-<model name>[-n]`."""
    base = f"{trained_at:%Y%m%dT%H%M%SZ}-{model_name}"
    version, n = base, 1
    while (settings.models_dir / version).exists():
        n += 1
        version = f"{base}-{n}"
    return version


def save_version(
    settings: Settings,
    version: str,
    model: Forecaster,
    quantiles: pl.DataFrame,
    metadata: dict[str, Any],
) -> Path:
    """Write the model, its interval half-widths and `metadata.json` to `models/<version>/`.

    The directory is assembled under a temporary name and renamed into place, so a version
    directory is either complete or absent.
    """
    target = settings.models_dir / version
    if target.exists():
        raise FileExistsError(f"model version {version} already exists at {target}")
    with atomic_output(target) as tmp:
        model.save(tmp)
        (tmp / INTERVALS_FILE).write_text(
            json.dumps(quantiles.to_dicts(), indent=2, sort_keys=True), encoding="utf-8"
        )
        (tmp / METADATA_FILE).write_text(
            json.dumps(metadata, indent=2, sort_keys=True, default=str), encoding="utf-8"
        )
    return target


def registered_versions(settings: Settings) -> list[str]:
    """Every registered model version (the folders holding a `metadata.json`), oldest first."""
    if not settings.models_dir.is_dir():
        return []
    return sorted(
        folder.name
        for folder in settings.models_dir.iterdir()
        if (folder / METADATA_FILE).is_file()
    )


def run_record_path(settings: Settings, run_id: str) -> Path:
    """Where the record of run `run_id` lives."""
    return settings.models_dir / RUNS_DIR / f"{run_id}.json"


def save_run_record(settings: Settings, run_id: str, record: dict[str, Any]) -> Path:
    """Write a run's record atomically (every version it names must exist)."""
    missing = [
        version
        for version in record.get("candidates", {}).values()
        if not (settings.models_dir / version / METADATA_FILE).is_file()
    ]
    if missing:
        raise FileNotFoundError(f"run {run_id} names unregistered versions: {missing}")
    path = run_record_path(settings, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, record)
    return path


def load_run_record(settings: Settings, run_id: str) -> dict[str, Any]:
    """The record of run `run_id` (FileNotFoundError when there is none)."""
    return json.loads(run_record_path(settings, run_id).read_text(encoding="utf-8"))


def promote(settings: Settings, version: str) -> None:
    """Point `models/current` at an existing version (atomic replace of a one-line file)."""
    if not (settings.models_dir / version / METADATA_FILE).is_file():
        raise FileNotFoundError(f"no model version {version} under {settings.models_dir}")
    write_text_atomic(settings.models_dir / CURRENT_FILE, version + "\n")


def current_version(settings: Settings) -> str | None:
    """The version `models/current` names, or None when nothing was promoted."""
    pointer = settings.models_dir / CURRENT_FILE
    if not pointer.is_file():
        return None
    version = pointer.read_text(encoding="utf-8").strip()
    return version or None


@dataclass
class LoadedModel:
    """A registered model ready to score rows of `marts.sales_features`."""

    version: str
    model: Forecaster
    quantiles: pl.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def training_data_version(self) -> str | None:
        return self.metadata.get("training_data_version")

    @property
    def metrics(self) -> dict[str, Any]:
        return self.metadata.get("metrics", {})

    def predict(self, features: pl.DataFrame) -> pl.DataFrame:
        """Horizon-1 forecast per input row (month t -> month t+1), in input order.

        Returns the row's series_id, source, product_id, zone_id and sales_month, the forecast
        month `target_month`, and yhat, yhat_lower_80, yhat_upper_80, yhat_lower_95,
        yhat_upper_95 (each interval contains yhat).
        """
        # the model sorts by series and month; predictions are joined back to the caller's order
        order = features.select(
            pl.col("series_id"), pl.col("sales_month").cast(pl.Date)
        ).with_row_index("_input_row")
        predicted = self.model.predict(features, (1,))
        bounded = apply_intervals(predicted.rename({"y_pred": "yhat"}), self.quantiles)
        out = order.join(
            bounded.unique(["series_id", "sales_month"], keep="first", maintain_order=True),
            on=["series_id", "sales_month"],
            how="left",
        ).sort("_input_row")
        return out.select(
            "series_id", *SERIES_KEYS, "sales_month", "target_month", *PREDICTION_OUTPUT
        )


def load_version(settings: Settings, version: str) -> LoadedModel:
    """Load `models/<version>/` (model, interval half-widths, metadata)."""
    path = settings.models_dir / version
    if not (path / METADATA_FILE).is_file():
        raise FileNotFoundError(f"model version {version!r} has no {METADATA_FILE} in {path}")
    metadata = json.loads((path / METADATA_FILE).read_text(encoding="utf-8"))
    quantiles = pl.DataFrame(
        json.loads((path / INTERVALS_FILE).read_text(encoding="utf-8")),
        schema={"horizon": pl.Int32, "level": pl.Float64, "q": pl.Float64},
    )
    return LoadedModel(version, Forecaster.load(path), quantiles, metadata)


def load_current(settings: Settings) -> LoadedModel | None:
    """The promoted model, or None when `models/current` does not exist yet."""
    version = current_version(settings)
    if version is None:
        return None
    return load_version(settings, version)
