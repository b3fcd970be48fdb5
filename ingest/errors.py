"""Ingest errors: one line, SAS signatures and account keys redacted (see `tamales_inc.core`)."""

from __future__ import annotations

from tamales_inc.core.errors import TamalesError, redact, redact_url

__all__ = ["IngestError", "redact", "redact_url"]


class IngestError(TamalesError):
    """An ingest failure the user can act on; the message is one line with secrets redacted."""
