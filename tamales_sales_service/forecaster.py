"""The promoted forecasting model, reloaded from the registry when `models/current` moves."""

from __future__ import annotations

import logging
import threading

import polars as pl

from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.registry import CURRENT_FILE, LoadedModel, load_current
from tamales_sales_service.db import Signature, file_signature

log = logging.getLogger(__name__)


class ModelUnavailable(Exception):
    """No model has been promoted yet (or the registry cannot load it)."""


class ModelSlot:
    """Holds `registry.load_current(settings)`; `refresh()` reloads on promotion."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._model: LoadedModel | None = None
        self._signature: Signature | None = None
        self._refresh_lock = threading.Lock()
        self._predict_lock = threading.Lock()
        self.last_error: str | None = None

    @property
    def model(self) -> LoadedModel | None:
        """The loaded model, or None."""
        return self._model

    def require(self) -> LoadedModel:
        """The loaded model, or ModelUnavailable with what to do next."""
        model = self._model
        if model is None:
            reason = f" ({self.last_error})" if self.last_error else ""
            raise ModelUnavailable(f"no model promoted yet{reason}: run `just train`")
        return model

    def refresh(self) -> bool:
        """Load the promoted model if `models/current` changed; True when it switched."""
        with self._refresh_lock:
            signature = file_signature(self.settings.models_dir / CURRENT_FILE)
            if signature == self._signature:
                return False
            try:
                model = load_current(self.settings)
            except Exception as exc:  # a half-promoted or foreign registry must not stop the API
                self.last_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
                log.warning("model not loaded: %s", self.last_error)
                self._signature = signature
                return False
            self._model = model
            self._signature = signature
            self.last_error = None
            if model is not None:
                log.info("serving model %s", model.version)
            return True

    def predict(self, features: pl.DataFrame) -> tuple[LoadedModel, pl.DataFrame]:
        """Run the current model on feature rows; returns (model, predictions)."""
        model = self.require()
        with self._predict_lock:
            return model, model.predict(features)
