"""Delivery acceptance: the rules a delivery (one source version) must meet to be landed.

Two kinds of rule. The layout (`ingest.layout`): no unexpected blob, one CSV per zone folder;
never waived. Completeness and thresholds: every table present and not empty, each Spark table's
`_SUCCESS`, every zone folder of the previous landed version, at most a share of quarantined lines
per blob and per table, and a bounded change of each table's row count and sales total against
the previous landed version; `--accept <version>` waives these for a real change.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.contract import TABLES
from ingest.discovery import Delivery, TableKey
from ingest.layout import LAYOUTS, PART_PATTERN, SUCCESS_MARKER, ZONES_FOLDER, place
from ingest.manifest import BlobRecord, TableRecord
from tamales_inc.core.settings import Settings


@dataclass(frozen=True)
class Violation:
    """A broken rule: what breaks it (a blob, zone folder or table) and the rule, one line each.

    `waivable` rules (completeness and thresholds) give way to `--accept`; layout rules never do.
    """

    subject: str
    rule: str
    waivable: bool = True

    def __str__(self) -> str:
        return f"{self.subject}: {self.rule}"


@dataclass(frozen=True)
class Limits:
    """The thresholds, in percent (see `Settings`)."""

    quarantined_per_blob: float
    quarantined_per_table: float
    rows_change: tuple[float, float]
    sales_change: tuple[float, float]

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            settings.max_quarantined_per_blob,
            settings.max_quarantined_per_table,
            settings.rows_change,
            settings.sales_change,
        )


@dataclass(frozen=True)
class Baseline:
    """The previous landed version of a source: what a new delivery is compared with."""

    version: str
    tables: dict[str, TableRecord]

    @property
    def zones(self) -> set[str]:
        """The zone folders its ERP files came from."""
        return {
            zone
            for record in self.tables.values()
            for blob in record.blobs
            if (zone := place(blob.name).zone) is not None
        }


def layout_violations(delivery: Delivery) -> list[Violation]:
    """What the listing shows: unexpected blobs, zone folders with several files (never waived),
    missing tables and Spark tables without `_SUCCESS`."""
    found = [
        Violation(name, f"unexpected blob: {rule}; it is never landed", waivable=False)
        for name, rule in delivery.unexpected
    ]
    for zone, blobs in delivery.zones.items():
        if len(blobs) > 1:
            names = ", ".join(blob.name.rsplit("/", 1)[-1] for blob in blobs)
            found.append(
                Violation(
                    f"{_zone_folder(blobs[0].name)}/",
                    f"zone folder {zone!r} holds {len(blobs)} .csv files ({names}); "
                    "a zone folder holds exactly one",
                    waivable=False,
                )
            )
    layout = LAYOUTS[delivery.key.source]
    for table in layout.tables:
        key = delivery.key.table(table)
        if key not in delivery.tables:
            pattern = f"{ZONES_FOLDER}/<zone>/<file>.csv" if layout.zone_table else PART_PATTERN
            found.append(Violation(str(key), f"table missing: no {pattern} blobs"))
        elif table in layout.spark_tables and table not in delivery.markers:
            found.append(
                Violation(str(key), f"no {SUCCESS_MARKER} marker: the Spark job did not finish")
            )
    return found


def content_violations(
    delivery: Delivery,
    records: dict[TableKey, TableRecord],
    first_rejects: dict[str, str],
    baseline: Baseline | None,
    limits: Limits,
) -> list[Violation]:
    """What the parsed tables show: missing zones, empty files and tables, too many quarantined
    lines, row counts and sales totals far from the previous landed version."""
    found: list[Violation] = []
    if baseline is not None and delivery.zones:
        prefix = _zone_folder(next(iter(delivery.zones.values()))[0].name).rsplit("/", 1)[0]
        for zone in sorted(baseline.zones - set(delivery.zones)):
            found.append(
                Violation(
                    f"{prefix}/{zone}/",
                    f"zone folder missing (the landed version {baseline.version} has it)",
                )
            )
    for key, record in records.items():
        found += _emptiness(key, record)
        found += _quarantine(key, record, first_rejects, limits)
        if baseline is not None and key.table in baseline.tables:
            found += _changes(key, record, baseline, limits)
    return found


def _zone_folder(blob_name: str) -> str:
    """`.../csv/<zone>` of an ERP blob."""
    return blob_name.rsplit("/", 1)[0]


def _emptiness(key: TableKey, record: TableRecord) -> list[Violation]:
    """Each ERP zone file, and each Spark table as a whole (parts may be empty), holds lines."""
    if LAYOUTS[key.source].zone_table:
        return [
            Violation(blob.name, "empty zone file (0 lines)")
            for blob in record.blobs
            if blob.rows_read == 0
        ]
    if record.rows_read == 0:
        return [Violation(str(key), f"empty table (0 lines in {len(record.blobs)} part files)")]
    return []


def _quarantine(
    key: TableKey, record: TableRecord, first_rejects: dict[str, str], limits: Limits
) -> list[Violation]:
    found: list[Violation] = []
    for blob in record.blobs:
        rule = _share_rule(blob, limits.quarantined_per_blob, "blob", first_rejects.get(blob.name))
        if rule:
            found.append(Violation(blob.name, rule))
    rule = _share_rule(record, limits.quarantined_per_table, "table", None)
    if rule:
        found.append(Violation(str(key), rule))
    return found


def _share_rule(
    counts: BlobRecord | TableRecord, limit: float, per: str, example: str | None
) -> str | None:
    """The broken rule when more than `limit` percent of the lines were quarantined."""
    if counts.rows_read == 0:
        return None
    share = 100.0 * counts.rows_quarantined / counts.rows_read
    if share <= limit:
        return None
    rule = (
        f"{counts.rows_quarantined:,} of {counts.rows_read:,} lines quarantined "
        f"({share:.1f}% > {limit:g}% per {per})"
    )
    return f"{rule}, e.g. {example}" if example else rule


def _changes(
    key: TableKey, record: TableRecord, baseline: Baseline, limits: Limits
) -> list[Violation]:
    before = baseline.tables[key.table]
    found: list[Violation] = []
    rule = _change_rule("rows", before.rows_landed, record.rows_landed, limits.rows_change, ",")
    if rule:
        found.append(Violation(str(key), f"{rule} against version {baseline.version}"))
    has_sales = "sales" in TABLES[(key.source, key.table)].names
    if has_sales and before.sales_total is not None and record.sales_total is not None:
        rule = _change_rule(
            "sales total", before.sales_total, record.sales_total, limits.sales_change, ",.2f"
        )
        if rule:
            found.append(Violation(str(key), f"{rule} against version {baseline.version}"))
    return found


def _change_rule(
    what: str, before: float, after: float, allowed: tuple[float, float], fmt: str
) -> str | None:
    """The broken rule when `after` is further from `before` than `allowed` (percent) permits;
    nothing to compare against a zero."""
    if before == 0:
        return None
    change = 100.0 * (after - before) / abs(before)
    low, high = allowed
    if low <= change <= high:
        return None
    return (
        f"{what} {before:{fmt}} -> {after:{fmt}} ({change:+.1f}%, allowed {low:+g}% to {high:+g}%)"
    )
