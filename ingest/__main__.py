"""`python -m ingest`: land every version of the configured container as typed parquet."""

from __future__ import annotations

import argparse
import sys

from ingest.download import DEFAULT_WORKERS
from tamales_inc.core.cli import make_parser, run_command
from tamales_inc.core.errors import UsageError

PROG = "ingest"


def _parser() -> argparse.ArgumentParser:
    parser = make_parser(
        PROG,
        "Land the raw container's CSV blobs as parquet under $TAMALES_HOME/raw (bad rows in "
        "$TAMALES_HOME/quarantine). Source: TAMALES_BLOB_URL (container SAS URL), or "
        "AZURE_STORAGE_CONNECTION_STRING + TAMALES_CONTAINER, or TAMALES_SOURCE_DIR; with "
        "none set, the built-in sample container is generated once and ingested. Prints one "
        "line per table and one for the run.",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"parallel downloads (default {DEFAULT_WORKERS})",
    )
    return parser


def _ingest(args: argparse.Namespace) -> None:
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    from ingest.pipeline import run_ingest
    from tamales_inc.core.settings import Settings

    report = run_ingest(Settings.from_env(), workers=args.workers)
    for table in report.tables:
        print(table.summary())
    print(report.summary(), flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the ingest; return the exit code."""
    return run_command(PROG, _parser(), _ingest, argv)


if __name__ == "__main__":
    sys.exit(main())
