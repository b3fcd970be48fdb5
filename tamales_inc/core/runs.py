"""Run records of the transform and the training: one JSON file per run under
`manifests/<stage>/runs/`, written when the run ends however it ends (succeeded, failed,
interrupted, terminated), so a failed run leaves a trace next to the ingest's run manifests.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tamales_inc.core.cli import Terminated, describe
from tamales_inc.core.errors import TamalesError
from tamales_inc.core.files import write_json_atomic

log = logging.getLogger(__name__)


def new_run_id(started_at: datetime) -> str:
    """A run's id: its UTC start time and a random suffix (`20240101T120000Z-a1b2c3`)."""
    return f"{started_at:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@dataclass
class RunRecord:
    """One run of a stage: what it was asked, what it did (`details`), how it ended."""

    stage: str
    options: dict[str, Any]
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    run_id: str = ""
    status: str = "running"
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    _clock: float = field(default_factory=time.perf_counter)

    def __post_init__(self) -> None:
        self.run_id = self.run_id or new_run_id(self.started_at)

    def payload(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "stage": self.stage,
            "status": self.status,
            "error": self.error,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - self._clock, 3),
            "options": self.options,
            **self.details,
        }


def run_records_dir(manifests_dir: Path, stage: str) -> Path:
    """Where a stage's run records go."""
    return manifests_dir / stage / "runs"


@contextmanager
def recorded_run(manifests_dir: Path, stage: str, options: dict[str, Any]) -> Iterator[RunRecord]:
    """Yield the run's record; write it to `manifests/<stage>/runs/<run id>.json` when the block
    ends, with the status (`succeeded`, `failed`, `interrupted`, `terminated`, or one the block
    set, e.g. `up_to_date`) and the one-line error. A record that cannot be written (a full or
    read-only disk) is logged, never raised over the run's own outcome."""
    record = RunRecord(stage, options)
    try:
        yield record
    except Terminated:
        record.status = "terminated"
        raise
    except KeyboardInterrupt:
        record.status = "interrupted"
        raise
    except BaseException as exc:
        record.status, record.error = "failed", describe(exc)
        raise
    else:
        if record.status == "running":
            record.status = "succeeded"
    finally:
        path = run_records_dir(manifests_dir, stage) / f"{record.run_id}.json"
        try:
            write_json_atomic(path, record.payload())
        except (OSError, TamalesError) as exc:
            # a failed run's own error says it all (often the same full or read-only disk)
            level = logging.WARNING if record.error is None else logging.DEBUG
            log.log(level, "could not write the run record %s: %s", path, describe(exc))
