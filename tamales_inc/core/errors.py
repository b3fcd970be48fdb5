"""The project's user-facing error: one line, secrets redacted; what every command reports."""

from __future__ import annotations

import errno
import os
import re
from urllib.parse import urlsplit, urlunsplit

_SECRET_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?i)(\bsig=)[^&\s'\"<>]+"),
    re.compile(r"(?i)(AccountKey=)[^;\s'\"<>]+"),
    re.compile(r"(?i)(SharedAccessSignature=)[^;\s'\"<>]+"),
)

_OS_ADVICE: dict[int, str] = {
    errno.ENOSPC: "no space left on the device; free some space (`just gc --apply`) and rerun",
    errno.EDQUOT: "disk quota exceeded; free some space (`just gc --apply`) and rerun",
    errno.EROFS: "the file system is read-only; set TAMALES_HOME to a writable folder",
    errno.EACCES: "permission denied; set TAMALES_HOME to a folder you can write, or fix its owner",
    errno.EPERM: "operation not permitted; set TAMALES_HOME to a folder you can write",
}


def os_advice(failure: int | str) -> str | None:
    """What to do about an operating-system failure: given its errno, or a message that names it
    (DuckDB and dbt wrap `No space left on device` in their own errors); None for anything else."""
    if isinstance(failure, int):
        return _OS_ADVICE.get(failure)
    for code, advice in _OS_ADVICE.items():
        if os.strerror(code) in failure:
            return advice
    return None


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
