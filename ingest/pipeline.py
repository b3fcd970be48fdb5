"""The ingest run: list the source, skip unchanged tables, land the rest, record it all."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ingest.contract import SOURCE_PREFIXES
from ingest.discovery import SUCCESS_MARKER, Discovery, TableKey, discover
from ingest.download import DEFAULT_WORKERS, Prefetcher
from ingest.errors import IngestError
from ingest.landing import Landing
from ingest.manifest import IngestState, TableRecord, new_run_id, write_run_manifest
from ingest.progress import Progress
from ingest.report import IngestReport, TableReport
from ingest.source import BlobInfo, Source, open_source
from tamales_inc.core.files import exclusive_lock, remove_stale_temps
from tamales_inc.core.settings import INGEST_LOCK_FILE as LOCK_FILE  # in the manifests folder
from tamales_inc.core.settings import Settings

LOCK_HOLDER = "ingest"
log = logging.getLogger(__name__)


def run_ingest(settings: Settings, *, workers: int = DEFAULT_WORKERS) -> IngestReport:
    """Land every table of every version found in the configured source; skip unchanged ones.

    Raises a one-line `TamalesError` on any failure; outputs already landed are never left
    half-written, and every run that reached the source records its manifest, failed or not.
    """
    with exclusive_lock(settings.manifests_dir / LOCK_FILE, LOCK_HOLDER):
        remove_stale_temps(settings.raw_dir, settings.quarantine_dir, settings.manifests_dir)
        run = _Run.start(settings)
        with _recorded(run):
            found = _discover(run)
            state = IngestState(settings.manifests_dir)
            changed = _changed_tables(run, found, state)
            _land_tables(run, found, changed, state, workers)
    return run.report


@dataclass
class _Run:
    """One run: its source and clock, the report so far and the record of each table it saw."""

    settings: Settings
    source: Source
    started_at: datetime
    started_clock: float
    report: IngestReport
    records: dict[TableKey, TableRecord] = field(default_factory=dict)

    @classmethod
    def start(cls, settings: Settings) -> _Run:
        started_at, started_clock = datetime.now(UTC), time.perf_counter()
        source = open_source(settings)
        report = IngestReport(run_id=new_run_id(started_at), source=source.description)
        return cls(settings, source, started_at, started_clock, report)

    @property
    def ingested_at(self) -> datetime:
        """The lineage timestamp of every row this run lands (UTC, naive)."""
        return self.started_at.replace(tzinfo=None)


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
        run.report.blobs_downloaded = run.source.downloads
        run.report.seconds = time.perf_counter() - run.started_clock
        run.source.close()
        run.report.manifest_path = write_run_manifest(
            run.settings.manifests_dir, run.report, run.records, run.started_at, error
        )


def _discover(run: _Run) -> Discovery:
    """List the sources' prefixes and map the blobs to tables; fail when no table is found."""
    listed = [blob for prefix in SOURCE_PREFIXES for blob in run.source.list_blobs(prefix)]
    run.report.blobs_listed = len(listed)
    found = discover(listed)
    run.report.ignored = list(found.ignored)
    if not found.tables:
        raise IngestError(
            f"no CSV blobs under {' or '.join(SOURCE_PREFIXES)} in {run.source.description} "
            f"({len(listed)} blobs listed): the container is empty or not laid out as "
            "<source>/<dataset>/<country>/<yyyymmdd>/...; nothing was landed or replaced"
        )
    unexpected = [(name, reason) for name, reason in found.ignored if reason != SUCCESS_MARKER]
    if unexpected:
        name, reason = unexpected[0]
        log.warning(
            "ignored %d blobs outside the contract, e.g. %s (%s)", len(unexpected), name, reason
        )
    return found


def _changed_tables(run: _Run, found: Discovery, state: IngestState) -> set[TableKey]:
    """The tables to land: new, changed blobs, or an output file gone. Report vanished ones."""
    changed = {
        key
        for key, blobs in found.tables.items()
        if not _is_unchanged(state.get(key), blobs, run.settings)
    }
    found_keys = {str(key) for key in found.tables}
    run.report.missing = sorted(key for key in state.tables if key not in found_keys)
    for key in run.report.missing:
        log.warning("%s is landed but no longer in the source; left as it is", key)
    return changed


def _is_unchanged(record: TableRecord | None, blobs: list[BlobInfo], settings: Settings) -> bool:
    if record is None or not record.matches(blobs):
        return False
    key = record.key
    return (
        settings.raw_path(key.source, key.version, key.table).is_file()
        and settings.quarantine_path(key.source, key.version, key.table).is_file()
    )


def _land_tables(
    run: _Run, found: Discovery, changed: set[TableKey], state: IngestState, workers: int
) -> None:
    """Land the changed tables in order from one stream of prefetched downloads; record each."""
    queue = [blob for key, blobs in found.tables.items() if key in changed for blob in blobs]
    progress = Progress(len(queue), sum(blob.size for blob in queue))
    prefetcher = Prefetcher(run.source, queue, workers=workers)
    landing = Landing(run.settings, run.report.run_id, run.ingested_at, iter(prefetcher), progress)
    try:
        for key, blobs in found.tables.items():
            if key in changed:
                table, record = landing.land(key, blobs)
                state.put(record)
            else:
                record = state.get(key)
                assert record is not None
                table = TableReport.unchanged(record, run.settings)
            run.records[key] = record
            run.report.tables.append(table)
            log.debug("%s", table.summary())
    finally:
        run.report.bytes_downloaded = progress.bytes
        prefetcher.close()
