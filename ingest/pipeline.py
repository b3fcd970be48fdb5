"""The ingest run: list the source, check each delivery, land the changed ones, record it all."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ingest.acceptance import Limits, layout_violations
from ingest.cancel import CancelToken, run_cancellable
from ingest.contract import SOURCE_PREFIXES
from ingest.delivery import (
    DeliveryOutcome,
    DeliveryPlan,
    land_delivery,
    rejected,
    unchanged,
)
from ingest.discovery import DeliveryKey, Discovery, TableKey, discover
from ingest.download import DEFAULT_WORKERS, Prefetcher
from ingest.errors import DeliveryRejected, IngestError
from ingest.landing import Landing, remove_empty_folders
from ingest.manifest import (
    IngestState,
    TableRecord,
    new_run_id,
    run_manifest_path,
    write_run_manifest,
)
from ingest.progress import Display, Progress
from ingest.report import IngestReport
from ingest.source import BlobInfo, Source, open_source
from tamales_inc.core.errors import UsageError
from tamales_inc.core.files import exclusive_lock, remove_stale_temps
from tamales_inc.core.settings import INGEST_LOCK_FILE as LOCK_FILE  # in the manifests folder
from tamales_inc.core.settings import Settings
from tamales_inc.core.versions import is_version

LOCK_HOLDER = "ingest"
log = logging.getLogger(__name__)


def run_ingest(
    settings: Settings,
    *,
    workers: int = DEFAULT_WORKERS,
    accept: Sequence[str] = (),
    display: Display | None = None,
) -> IngestReport:
    """Land every delivery (source version) found in the configured source that changed and
    meets the rules; skip unchanged ones. `accept` names versions (`20200901`, or
    `tamales_inc/20200901`) whose completeness and thresholds are waived.

    Raises `DeliveryRejected` after landing the good deliveries when any delivery broke a rule,
    and a one-line `TamalesError` on any other failure; nothing is ever left half-written, and
    every run records its manifest, failed, refused (lock) or interrupted too.
    """
    check_accept(accept)
    run = _Run.start(settings, tuple(accept))
    with _recorded(run), exclusive_lock(settings.manifests_dir / LOCK_FILE, LOCK_HOLDER):
        remove_stale_temps(settings.raw_dir, settings.quarantine_dir, settings.manifests_dir)
        with _swept_on_failure(settings):
            source = run.open_source()
            found = _discover(run, source)
            state = IngestState(settings.manifests_dir)
            plans = _plan(run, found, state)
            run_cancellable(
                lambda cancel: _land(run, source, plans, state, workers, cancel, display),
                name="landing",
            )
            _warn_missing(run)
            _fail_on_rejections(run, found)
    return run.report


def check_accept(accept: Sequence[str]) -> None:
    """Each `--accept` value is a version (`20200901`) or a source and version."""
    for value in accept:
        if not is_version(value.rsplit("/", 1)[-1]) or value.count("/") > 1:
            raise UsageError(
                f"--accept {value!r}: expected a data version yyyymmdd (20200901) or "
                "<source>/<version> (tamales_inc/20200901)"
            )


@dataclass
class _Run:
    """One run: its clock, source (once opened), the report so far and the record of each
    table it saw."""

    settings: Settings
    started_at: datetime
    started_clock: float
    report: IngestReport
    accept: tuple[str, ...] = ()
    source: Source | None = None
    records: dict[TableKey, TableRecord] = field(default_factory=dict)

    @classmethod
    def start(cls, settings: Settings, accept: tuple[str, ...]) -> _Run:
        started_at, started_clock = datetime.now(UTC), time.perf_counter()
        report = IngestReport(run_id=new_run_id(started_at), source="(not opened)", accept=accept)
        return cls(settings, started_at, started_clock, report, accept)

    def open_source(self) -> Source:
        """Open the configured source (its description goes in the report: no secrets)."""
        self.source = open_source(self.settings)
        self.report.source = self.source.description
        return self.source

    @property
    def ingested_at(self) -> datetime:
        """The lineage timestamp of every row this run lands (UTC, naive)."""
        return self.started_at.replace(tzinfo=None)

    def accepts(self, key: DeliveryKey) -> bool:
        """Whether `--accept` names this delivery's version."""
        return key.version in self.accept or str(key) in self.accept


@contextmanager
def _recorded(run: _Run) -> Iterator[None]:
    """Close the source and write the run manifest when the run ends, with its error if any."""
    error: BaseException | None = None
    try:
        yield
    except BaseException as exc:
        error = exc
        raise
    finally:
        if run.source is not None:
            run.report.blobs_downloaded = run.source.downloads
            run.source.close()
        run.report.seconds = time.perf_counter() - run.started_clock
        try:
            run.report.manifest_path = write_run_manifest(
                run.settings.manifests_dir, run.report, run.records, run.started_at, error
            )
        except OSError as exc:
            if error is None:
                raise
            log.warning("could not write the run manifest: %s", exc)  # the run's error wins


@contextmanager
def _swept_on_failure(settings: Settings) -> Iterator[None]:
    """Under the lock: a failed or interrupted run removes every temp file and the empty
    version folders (a worker left behind by an interrupt may not have swept its own)."""
    try:
        yield
    except BaseException:
        remove_stale_temps(settings.raw_dir, settings.quarantine_dir, settings.manifests_dir)
        remove_empty_folders(settings.raw_dir, settings.quarantine_dir)
        raise


def _discover(run: _Run, source: Source) -> Discovery:
    """List the sources' prefixes and place the blobs in deliveries; fail when there is no
    data blob at all."""
    listed = [blob for prefix in SOURCE_PREFIXES for blob in source.list_blobs(prefix)]
    run.report.blobs_listed = len(listed)
    found = discover(listed)
    run.report.unexpected = found.unexpected
    if not found.tables:
        raise IngestError(
            f"no CSV blobs under {' or '.join(SOURCE_PREFIXES)} in {source.description} "
            f"({len(listed)} blobs listed): the container is empty or not laid out as "
            "<source>/<dataset>/<country>/<yyyymmdd>/...; nothing was landed or replaced"
        )
    return found


def _plan(run: _Run, found: Discovery, state: IngestState) -> list[DeliveryPlan]:
    """Per delivery: the tables to land (new, changed blobs, or an output file gone) and the
    rules the listing breaks. Landed tables that vanished from the source are reported."""
    plans = []
    for key, delivery in found.deliveries.items():
        changed = tuple(
            table
            for table, blobs in delivery.tables.items()
            if not _is_unchanged(state.get(table), blobs, run.settings)
        )
        violations = tuple(layout_violations(delivery))
        plans.append(DeliveryPlan(delivery, changed, violations, run.accepts(key)))
    found_keys = {str(key) for key in found.tables}
    run.report.missing = sorted(key for key in state.tables if key not in found_keys)
    for value in run.accept:
        if not any(plan.accepted and plan.changed for plan in plans if _names(value, plan)):
            log.warning(
                "--accept %s: no changed delivery of that version; nothing to accept", value
            )
    return plans


def _names(value: str, plan: DeliveryPlan) -> bool:
    key = plan.delivery.key
    return value in (key.version, str(key))


def _is_unchanged(record: TableRecord | None, blobs: list[BlobInfo], settings: Settings) -> bool:
    if record is None or not record.matches(blobs):
        return False
    key = record.key
    return (
        settings.raw_path(key.source, key.version, key.table).is_file()
        and settings.quarantine_path(key.source, key.version, key.table).is_file()
    )


def _land(
    run: _Run,
    source: Source,
    plans: list[DeliveryPlan],
    state: IngestState,
    workers: int,
    cancel: CancelToken,
    display: Display | None,
) -> None:
    """Land the deliveries in order from one stream of prefetched downloads (run in a worker
    thread: see `ingest.cancel`)."""
    queue = [
        blob
        for plan in plans
        if plan.changed and not plan.blocked
        for table in plan.changed
        for blob in plan.delivery.tables[table]
    ]
    progress = Progress(len(queue), sum(blob.size for blob in queue), display=display)
    prefetcher = Prefetcher(source, queue, workers=workers, cancel=cancel)
    landing = Landing(
        run.settings, run.report.run_id, run.ingested_at, iter(prefetcher), progress, cancel
    )
    limits = Limits.from_settings(run.settings)
    try:
        for plan in plans:
            cancel.check()
            outcome = _land_one(plan, landing, state, limits)
            run.report.deliveries.append(outcome.report)
            run.report.tables += outcome.tables
            run.records.update(outcome.records)
            for table in outcome.tables:
                log.debug("%s", table.summary())
    finally:
        run.report.bytes_downloaded = progress.bytes
        progress.finish()
        prefetcher.close()


def _land_one(
    plan: DeliveryPlan, landing: Landing, state: IngestState, limits: Limits
) -> DeliveryOutcome:
    """Reject, skip or land one delivery. An unchanged delivery is rejected only for an
    unexpected blob (its completeness was checked, or waived, when it was landed)."""
    if not plan.changed:
        layout = tuple(v for v in plan.violations if not v.waivable)
        return rejected(plan, state, layout) if layout else unchanged(plan, state, landing.settings)
    if plan.blocked:
        return rejected(plan, state, plan.violations)
    return land_delivery(plan, landing, state, limits)


def _warn_missing(run: _Run) -> None:
    """Warn of landed tables gone from the source (a rejected delivery's are in its
    violations already)."""
    rejected_keys = {str(d.key) for d in run.report.rejected}
    for key in run.report.missing:
        if key.rsplit("/", 1)[0] not in rejected_keys:
            log.warning("%s is landed but no longer in the source; left as it is", key)


def _fail_on_rejections(run: _Run, found: Discovery) -> None:
    """Fail the run, in one line, when a delivery was rejected or a blob sits outside every
    delivery; the good deliveries are landed by now."""
    manifest = run_manifest_path(run.settings.manifests_dir, run.report.run_id)
    rejections = run.report.rejected
    problems = sum(len(d.violations) for d in rejections) + len(found.outside)
    if rejections:
        first = rejections[0]
        violation = first.violations[0]
        kept = "its previous landing is kept" if first.kept else "it was never landed"
        head = f"delivery {first.key} rejected, nothing of it landed ({kept}): {violation}"
        advice = (
            f"if the change is real, rerun with --accept {first.key.version}"
            if violation.waivable
            else "fix the container (remove or move that blob), then rerun"
        )
    elif found.outside:
        name, rule = found.outside[0]
        head = f"{name}: unexpected blob outside every delivery: {rule}; it is never landed"
        advice = "remove or move it in the container, then rerun"
    else:
        return
    more = f" (+{problems - 1} more)" if problems > 1 else ""
    raise DeliveryRejected(f"{head}{more}; {advice}; details in {manifest}", run.report)
