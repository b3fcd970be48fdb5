"""The promoted forecasting model, reloaded from the registry when `models/current` moves."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import polars as pl

from tamales_inc.settings import Settings

log = logging.getLogger(__name__)


class ModelUnavailable(Exception):
    """No model has been promoted yet (or the registry cannot load it)."""


def _current_signature(settings: Settings) -> tuple[Any, ...] | None:
    """What `models/current` points at right now (file contents or symlink target, plus stat)."""
    current = settings.models_dir / "current"
    try:
        st = os.lstat(current)
    except FileNotFoundError:
        return None
    if current.is_symlink():
        target: str = os.readlink(current)
    elif current.is_file():
        target = current.read_text(encoding="utf-8").strip()
    else:
        target = ""
    return (st.st_ino, st.st_mtime_ns, st.st_size, target)


class ModelSlot:
    """Holds `tamales_inc.registry.load_current(settings)`; `refresh()` reloads on promotion."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._model: Any | None = None
        self._signature: tuple[Any, ...] | None = None
        self._refresh_lock = threading.Lock()
        self._predict_lock = threading.Lock()
        self.last_error: str | None = None

    @property
    def model(self) -> Any | None:
        """The loaded model (a `tamales_inc.registry.LoadedModel`) or None."""
        return self._model

    def require(self) -> Any:
        """The loaded model, or ModelUnavailable with what to do next."""
        model = self._model
        if model is None:
            reason = f" ({self.last_error})" if self.last_error else ""
            raise ModelUnavailable(f"no model promoted yet{reason}: run `just train`")
        return model

    def refresh(self) -> bool:
        """Load the promoted model if `models/current` changed; True when it switched."""
        with self._refresh_lock:
            signature = _current_signature(self.settings)
            if signature == self._signature:
                return False
            try:
                from tamales_inc.registry import load_current

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
                log.info("serving model %s", getattr(model, "version", "?"))
            return True

    def predict(self, features: pl.DataFrame) -> tuple[Any, pl.DataFrame]:
        """Run the current model on feature rows; returns (model, predictions)."""
        model = self.require()
        with self._predict_lock:
            return model, model.predict(features)
