"""Ingest errors with safe messages: SAS signatures and account keys are redacted."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_SECRET_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?i)(\bsig=)[^&\s'\"<>]+"),
    re.compile(r"(?i)(AccountKey=)[^;\s'\"<>]+"),
    re.compile(r"(?i)(SharedAccessSignature=)[^;\s'\"<>]+"),
)


def redact(text: str) -> str:
    """Replace every SAS signature or account key found in `text` with `REDACTED`."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1REDACTED", text)
    return text


def redact_url(url: str) -> str:
    """The URL without its query string and fragment (where a SAS token lives)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


class IngestError(Exception):
    """A failure the user can act on; the message is one line with secrets redacted."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(" ".join(message.split())))
