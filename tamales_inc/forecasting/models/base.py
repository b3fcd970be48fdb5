"""`Forecaster`: the shape every model family shares, its predict plumbing, save/load by kind."""

from __future__ import annotations

import inspect
import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

import polars as pl

from tamales_inc.forecasting.data import SERIES_KEYS, prepare
from tamales_inc.forecasting.inputs import scale_expr
from tamales_inc.forecasting.targets import SEASON_LENGTH, attach_seasonal_value, stack_horizons

DEFAULT_HORIZONS: tuple[int, ...] = (1, 2, 3)
MODEL_FILE = "model.json"
HISTORY_FILE = "history.parquet"
HISTORY_SCHEMA: dict[str, pl.DataType] = {
    "series_id": pl.String(),
    "sales_month": pl.Date(),
    "sales": pl.Float64(),
}

PREDICTION_COLUMNS: tuple[str, ...] = (
    "series_id",
    *SERIES_KEYS,
    "sales_month",
    "horizon",
    "target_month",
    "y_pred",
    "scale",
)

# Every model kind `Forecaster.load` can read back: `Forecaster.name` -> class (see `register`).
MODEL_CLASSES: dict[str, type[Forecaster]] = {}


F = TypeVar("F", bound="type[Forecaster]")


def register(cls: F) -> F:
    """Class decorator: make a concrete model kind loadable under its `name`."""
    if cls.name in MODEL_CLASSES:
        raise ValueError(f"model kind {cls.name!r} is already registered")
    MODEL_CLASSES[cls.name] = cls
    return cls


def sales_history(features: pl.DataFrame) -> pl.DataFrame:
    """(series_id, sales_month, sales) of mart rows: what a fitted model keeps."""
    return features.select(HISTORY_SCHEMA.keys()).cast(HISTORY_SCHEMA)


def finish(frame: pl.DataFrame, y_pred: pl.Expr) -> pl.DataFrame:
    """`PREDICTION_COLUMNS` of `frame` with `y_pred` (NULL and NaN forecasts become 0)."""
    return frame.with_columns(y_pred.fill_null(0.0).fill_nan(0.0).alias("y_pred")).select(
        PREDICTION_COLUMNS
    )


class Forecaster(ABC):
    """A direct multi-horizon forecaster over every series of `marts.sales_features`.

    Like mlforecast, `fit` keeps the series' sales history, so one mart row is enough to predict
    from (the API predicts from a single row): the values a forecast needs from earlier months
    (the last known value, the same month a season before the target, the month 13 back) are
    looked up in the rows given, completed by that history. Saved as `history.parquet` next to
    `model.json`.

    A family sets `name`, takes its parameters as keyword arguments stored under the same
    attribute names (`params` reads them back, as scikit-learn's `get_params` does), implements
    `_predict`, and, if it learns state in `fit`, `_state` / `_restore` (and `save` for extra
    files). `@register` makes it loadable.
    """

    name: ClassVar[str]
    season_length: int = SEASON_LENGTH
    # the model's inputs in order (mart columns, or values looked up in the kept history)
    feature_names: tuple[str, ...] = ()

    def __init__(self, *, horizons: tuple[int, ...] = DEFAULT_HORIZONS) -> None:
        self.horizons = tuple(int(h) for h in horizons)
        self.history: pl.DataFrame = pl.DataFrame(schema=HISTORY_SCHEMA)

    @property
    def params(self) -> dict[str, Any]:
        """Constructor keyword arguments (JSON-serialisable), read from the attributes of the
        same names."""
        params = {}
        for name in inspect.signature(type(self).__init__).parameters:
            if name != "self":
                value = getattr(self, name)
                params[name] = list(value) if isinstance(value, tuple) else value
        return params

    def clone(self) -> Forecaster:
        """A fresh, unfitted model with the same parameters."""
        return type(self)(**self.params)

    def fit(self, features: pl.DataFrame) -> Self:
        """Learn from the history in `features` (rows of `marts.sales_features`)."""
        self.history = sales_history(prepare(features))
        return self

    def update(self, features: pl.DataFrame) -> Forecaster:
        """This model on a longer history (`features` extends what `fit` saw): by default a
        fresh fit; a family whose fits are costly may keep what it learned and take in only the
        new months (the backtest moves from one origin to the next this way)."""
        return self.clone().fit(features)

    def predict(
        self, features: pl.DataFrame, horizons: tuple[int, ...] | None = None
    ) -> pl.DataFrame:
        """Forecast y_{t+h} from every row t of `features` for each horizon h.

        Returns `PREDICTION_COLUMNS`: the row's series keys and month, `horizon`, `target_month`,
        `y_pred` and the row's series `scale`. Only rows at or before each row are used.
        """
        prepared = prepare(features)
        expanded = stack_horizons(prepared.with_columns(scale_expr()), horizons or self.horizons)
        return self._predict(self._with_history(expanded, prepared))

    @abstractmethod
    def _predict(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Predictions for `frame`: the rows expanded per horizon, with `scale`, `last_sales` and
        `seasonal_value` (see `_with_history`); return `finish(frame, y_pred)`."""

    def _with_history(self, frame: pl.DataFrame, features: pl.DataFrame) -> pl.DataFrame:
        """`frame` with `last_sales` (the latest non-NULL sales up to t: market rows can be
        empty) and `seasonal_value`, looked up in the sales of `features` completed by the
        history kept from `fit`."""
        own = sales_history(features)
        kept = self.history.join(own, on=["series_id", "sales_month"], how="anti")
        known = pl.concat([own, kept]).sort("series_id", "sales_month")
        last = known.select(
            "series_id",
            "sales_month",
            pl.col("sales").forward_fill().over("series_id").alias("last_sales"),
        )
        frame = frame.join(last, on=["series_id", "sales_month"], how="left", maintain_order="left")
        return attach_seasonal_value(frame, known, self.season_length)

    def feature_importance(self) -> dict[str, float]:
        """Importance per input learned by `fit` (empty for models that learn no weights)."""
        return {}

    def save(self, path: Path) -> None:
        """Write the model to the artifact directory `path` (created if needed)."""
        path.mkdir(parents=True, exist_ok=True)
        body = {"kind": type(self).name, "params": self.params, **self._state()}
        (path / MODEL_FILE).write_text(json.dumps(body, indent=2, sort_keys=True), "utf-8")
        self.history.write_parquet(path / HISTORY_FILE)

    def _state(self) -> dict[str, Any]:
        """What `fit` learned beyond the history, as JSON for `model.json`."""
        return {}

    @classmethod
    def load(cls, path: Path) -> Forecaster:
        """Read a model written by `save` (any registered kind) from `path`."""
        body = json.loads((path / MODEL_FILE).read_text("utf-8"))
        kind = body.get("kind")
        if kind not in MODEL_CLASSES:
            raise ValueError(f"{path / MODEL_FILE}: unknown model kind {kind!r}")
        model = MODEL_CLASSES[kind](**body["params"])
        model._restore(path, body)
        return model

    def _restore(self, path: Path, body: dict[str, Any]) -> None:
        """Read back what `save` wrote beyond the parameters."""
        self.history = pl.read_parquet(path / HISTORY_FILE).cast(HISTORY_SCHEMA)
