"""Data versions: the `yyyymmdd` folder names of a delivery (stdlib only, cheap to import)."""

from __future__ import annotations

from datetime import date


def is_version(text: str) -> bool:
    """Whether `text` is a data version: a real calendar date written `yyyymmdd` (20200801)."""
    if len(text) != 8 or not (text.isascii() and text.isdigit()):
        return False
    try:
        date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return False
    return True
