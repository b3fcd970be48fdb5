"""The model the service answers with: the promoted one, reloaded when `models/current` moves."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import polars as pl

from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.registry import CURRENT_FILE, LoadedModel, load_current
from tamales_sales_service.errors import ModelUnavailable, without_paths
from tamales_sales_service.watch import Signature, file_signature

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedModel:
    """The promoted model as loaded from the registry (None until one is), and why the last load
    failed, if it did (the previous model keeps serving meanwhile; no paths in the reason)."""

    loaded: LoadedModel | None = None
    load_error: str | None = None
    _predict_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def version(self) -> str | None:
        return None if self.loaded is None else self.loaded.version

    @property
    def training_data_version(self) -> str | None:
        return None if self.loaded is None else self.loaded.training_data_version

    @property
    def trained_at(self) -> datetime | None:
        """When the model was trained (UTC, from its metadata), or None if unrecorded."""
        text = None if self.loaded is None else self.loaded.metadata.get("trained_at")
        if not isinstance(text, str):
            return None
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def missing_reason(self) -> str:
        """Why there is no model to answer with, and what to do next."""
        reason = f" ({self.load_error})" if self.load_error else ""
        return f"no model promoted yet{reason}: run `just train`"

    def require(self) -> LoadedModel:
        """The loaded model, or ModelUnavailable saying why there is none."""
        if self.loaded is None:
            raise ModelUnavailable(self.missing_reason())
        return self.loaded

    def predict(self, features: pl.DataFrame) -> pl.DataFrame:
        """The loaded model's predictions for feature rows (one prediction at a time)."""
        model = self.require()
        with self._predict_lock:
            return model.predict(features)


class PromotedModel:
    """Watches the registry's `models/current`; `served` is the model requests answer with."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.served = ServedModel()
        self._signature: Signature | None = None
        self._refresh_lock = threading.Lock()

    def refresh(self) -> bool:
        """Load the promoted model if `models/current` changed; True when it switched."""
        with self._refresh_lock:
            signature = file_signature(self.settings.models_dir / CURRENT_FILE)
            if signature == self._signature:
                return False
            self._signature = signature
            try:
                model = load_current(self.settings)
            except Exception as exc:  # a half-promoted or foreign registry must not stop the API
                error = f"{type(exc).__name__}: {exc}".splitlines()[0]
                log.warning("model not loaded: %s", error)
                self.served = replace(self.served, load_error=without_paths(error))
                return False
            self.served = ServedModel(model)
            if model is not None:
                log.info("serving model %s", model.version)
            return True
