"""The project's user-facing error: one line, secrets redacted; what every command reports."""

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


def one_line(text: str) -> str:
    """`text` folded onto one line, secrets redacted."""
    return redact(" ".join(text.split()))


class TamalesError(Exception):
    """A failure the user can act on: one line saying what failed, where and what to do next.

    Commands print it as `<command>: error: <message>` and exit 1 (see `core.cli`).
    """

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


class UsageError(TamalesError):
    """A bad command line or parameter value (exit code 2)."""
