"""Land one delivery whole or not at all: stage its changed tables, check the rules, publish.

Every changed table of the delivery is parsed to temp files first; only when the delivery meets
every rule (or `--accept` waives the waivable ones) are the temps renamed into place and the
state recorded, once. A rejected delivery leaves the previous landing byte for byte; a run killed
between the renames and the state record lands the delivery again on the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from ingest.acceptance import Baseline, Limits, Violation, content_violations
from ingest.discovery import Delivery, TableKey
from ingest.landing import Landing, StagedTable
from ingest.manifest import IngestState, TableRecord
from ingest.report import LANDED, REJECTED, UNCHANGED, DeliveryReport, TableReport
from tamales_inc.core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryPlan:
    """A delivery found in the source: the tables to (re)land, the rules its listing already
    breaks, and whether `--accept` names its version."""

    delivery: Delivery
    changed: tuple[TableKey, ...]
    violations: tuple[Violation, ...]
    accepted: bool

    @property
    def blocked(self) -> bool:
        """Whether the listing alone rejects the delivery."""
        return bool(blocking(self.violations, self.accepted))


@dataclass
class DeliveryOutcome:
    """What landing a delivery did: its report, its tables' reports and their records."""

    report: DeliveryReport
    tables: list[TableReport]
    records: dict[TableKey, TableRecord]


def blocking(violations: tuple[Violation, ...], accepted: bool) -> list[Violation]:
    """The violations that reject a delivery: all of them, or the layout ones when accepted."""
    return [v for v in violations if not (accepted and v.waivable)]


def baseline(state: IngestState, delivery: Delivery) -> Baseline | None:
    """The previous landed version of the delivery's source: its own earlier landing if any,
    else the latest landed version before it."""
    key = delivery.key
    earlier = [v for v in state.landed_versions(key.source) if v <= key.version]
    if not earlier:
        return None
    return Baseline(earlier[-1], state.version_tables(key.source, earlier[-1]))


def rejected(
    plan: DeliveryPlan, state: IngestState, violations: tuple[Violation, ...]
) -> DeliveryOutcome:
    """A delivery that is not landed; an earlier landing of it stays."""
    key = plan.delivery.key
    kept = bool(state.version_tables(key.source, key.version))
    report = DeliveryReport(key, REJECTED, violations, accepted=plan.accepted, kept=kept)
    for violation in violations:
        log.debug("%s rejected: %s", key, violation)
    return DeliveryOutcome(report, [], {})


def unchanged(plan: DeliveryPlan, state: IngestState, settings: Settings) -> DeliveryOutcome:
    """A delivery landed earlier from the same blobs: nothing to do."""
    records = {key: _recorded(state, key) for key in plan.delivery.tables}
    tables = [TableReport.unchanged(record, settings) for record in records.values()]
    return DeliveryOutcome(DeliveryReport(plan.delivery.key, UNCHANGED), tables, records)


def land_delivery(
    plan: DeliveryPlan, landing: Landing, state: IngestState, limits: Limits
) -> DeliveryOutcome:
    """Stage the changed tables, check the delivery's rules, then publish all or none."""
    staged: list[StagedTable] = []
    try:
        for key in plan.changed:
            staged.append(landing.stage(key, plan.delivery.tables[key]))
        records = {
            key: _recorded(state, key) for key in plan.delivery.tables if key not in plan.changed
        } | {table.key: table.record for table in staged}
        first_rejects = {
            name: text for table in staged for name, text in table.first_rejects.items()
        }
        found = plan.violations + tuple(
            content_violations(
                plan.delivery, records, first_rejects, baseline(state, plan.delivery), limits
            )
        )
        if blocking(found, plan.accepted):
            _discard(staged)
            return rejected(plan, state, found)
        if found:  # every violation was waived by --accept
            log.warning("%s accepted by --accept despite: %s", plan.delivery.key, found[0])
            for table in staged:
                table.record = replace(table.record, accepted_override=True)
        for table in staged:
            table.publish()
    except BaseException:
        _discard(staged)
        raise
    state.put(*(table.record for table in staged))
    return _landed(plan, staged, records | {t.key: t.record for t in staged}, found, landing)


def _landed(
    plan: DeliveryPlan,
    staged: list[StagedTable],
    records: dict[TableKey, TableRecord],
    found: tuple[Violation, ...],
    landing: Landing,
) -> DeliveryOutcome:
    seconds = {table.key: table.seconds for table in staged}
    tables = [
        TableReport.landed(record, landing.settings, seconds[key])
        if key in seconds
        else TableReport.unchanged(record, landing.settings)
        for key, record in sorted(records.items())
    ]
    report = DeliveryReport(plan.delivery.key, LANDED, found, accepted=plan.accepted)
    return DeliveryOutcome(report, tables, records)


def _recorded(state: IngestState, key: TableKey) -> TableRecord:
    record = state.get(key)
    if record is None:
        raise RuntimeError(f"{key} is neither changed nor landed")
    return record


def _discard(staged: list[StagedTable]) -> None:
    for table in staged:
        table.discard()
