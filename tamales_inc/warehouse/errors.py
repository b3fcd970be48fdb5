"""The warehouse stage's one-line errors."""

from __future__ import annotations

from tamales_inc.core.errors import TamalesError


class TransformError(TamalesError):
    """The warehouse could not be built; the published warehouse was left untouched."""


class LandedDataError(TransformError):
    """The landed data cannot be built as asked (missing, unreadable or mixed versions)."""
