"""`python -m ingest`: land every version of the configured container as typed parquet."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ingest.download import DEFAULT_WORKERS
from tamales_inc.core.cli import make_parser, run_command
from tamales_inc.core.errors import UsageError

if TYPE_CHECKING:
    from ingest.report import IngestReport

PROG = "ingest"


def _parser() -> argparse.ArgumentParser:
    parser = make_parser(
        PROG,
        "Land the raw container's deliveries (one data version of one source each) as parquet "
        "under $TAMALES_HOME/raw (bad lines in $TAMALES_HOME/quarantine), each whole or not at "
        "all: a delivery with an unexpected blob, a missing or empty table, too many quarantined "
        "lines or a row count or sales total far from the previous version is rejected, the "
        "previous landing kept and the run fails. Source: TAMALES_BLOB_URL (container SAS URL), "
        "or AZURE_STORAGE_CONNECTION_STRING + TAMALES_CONTAINER, or TAMALES_SOURCE_DIR; with "
        "none set, the built-in sample container is generated once and ingested. Prints one "
        "line per table, one per rejected delivery and one for the run.",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"parallel downloads (default {DEFAULT_WORKERS})",
    )
    parser.add_argument(
        "--accept",
        action="append",
        default=[],
        metavar="VERSION",
        help="land this data version (yyyymmdd, or <source>/<yyyymmdd>) although it breaks the "
        "completeness or threshold rules, for a real change; never lands an unexpected blob; "
        "logged and recorded in the run manifest (repeatable)",
    )
    return parser


def _ingest(args: argparse.Namespace) -> None:
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    from ingest.errors import DeliveryRejected
    from ingest.pipeline import check_accept, run_ingest
    from ingest.progress import TerminalBar
    from tamales_inc.core.settings import Settings

    check_accept(args.accept)
    on_terminal = sys.stderr.isatty() and not args.quiet
    display = TerminalBar(sys.stderr, f"{PROG}: ") if on_terminal else None
    try:
        report = run_ingest(
            Settings.from_env(), workers=args.workers, accept=args.accept, display=display
        )
    except DeliveryRejected as rejection:
        _print_summary(rejection.report)
        raise
    _print_summary(report)


def _print_summary(report: IngestReport) -> None:
    """One line per table, per rejected or accepted delivery, and one for the run (stdout)."""
    for table in report.tables:
        print(table.summary())
    for delivery in report.deliveries:
        line = delivery.line()
        if line:
            print(line)
    print(report.summary(), flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the ingest; return the exit code."""
    return run_command(PROG, _parser(), _ingest, argv)


if __name__ == "__main__":
    from ingest.cancel import exit_now_if_threads_linger
    from tamales_inc.core.cli import EXIT_INTERRUPTED, EXIT_TERMINATED

    code = main()
    if code in (EXIT_INTERRUPTED, EXIT_TERMINATED):  # a worker may still be stuck in native code
        exit_now_if_threads_linger(code)
    sys.exit(code)
