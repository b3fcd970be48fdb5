"""Ingest errors: one line, SAS signatures and account keys redacted (see `tamales_inc.core`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tamales_inc.core.errors import TamalesError, redact, redact_url

if TYPE_CHECKING:
    from ingest.report import IngestReport

__all__ = ["DeliveryRejected", "IngestError", "redact", "redact_url"]


class IngestError(TamalesError):
    """An ingest failure the user can act on; the message is one line with secrets redacted."""


class DeliveryRejected(IngestError):
    """A delivery broke a rule (or an unexpected blob sits in the container): the run fails,
    after landing the good deliveries; `report` says what the run did."""

    def __init__(self, message: str, report: IngestReport) -> None:
        super().__init__(message)
        self.report = report
