"""Month arithmetic on first-of-month dates, and the `YYYY-MM` text form."""

from __future__ import annotations

from datetime import date


def month_number(month: date) -> int:
    """Months since year 0: consecutive months differ by one."""
    return month.year * 12 + month.month - 1


def from_month_number(number: int) -> date:
    """The first day of the month `month_number` counts to."""
    return date(number // 12, number % 12 + 1, 1)


def month_after(month: date, months: int) -> date:
    """The first day of the month `months` after `month` (negative: before)."""
    return from_month_number(month_number(month) + months)


def months_between(first: date, last: date) -> int:
    """How many months `last` is after `first`."""
    return month_number(last) - month_number(first)


def parse_month(text: str) -> date:
    """`YYYY-MM` as the first day of that month (ValueError otherwise)."""
    if len(text) != 7 or text[4] != "-":
        raise ValueError(f"{text!r} is not a month written YYYY-MM")
    return date(int(text[:4]), int(text[5:7]), 1)


def format_month(month: date) -> str:
    """The `YYYY-MM` text of a month."""
    return f"{month:%Y-%m}"
