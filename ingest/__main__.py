"""`python -m ingest`: land every version of the configured container as typed parquet."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from ingest.download import DEFAULT_WORKERS
from ingest.errors import IngestError, redact

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description=(
            "Land the raw container's CSV blobs as parquet under $TAMALES_HOME/raw (bad rows in "
            "$TAMALES_HOME/quarantine). Source: TAMALES_BLOB_URL (container SAS URL), or "
            "AZURE_STORAGE_CONNECTION_STRING + TAMALES_CONTAINER, or TAMALES_SOURCE_DIR; with "
            "none set, the built-in sample container is generated once and ingested."
        ),
        epilog="Exit codes: 0 ok, 1 ingest failed (one-line reason on stderr), 2 bad usage.",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"parallel downloads (default {DEFAULT_WORKERS})",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ingest; return the exit code."""
    args = _parser().parse_args(argv)
    if args.workers < 1:
        print("ingest: --workers must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    logging.getLogger("azure").setLevel(logging.WARNING)
    from ingest.pipeline import run_ingest
    from tamales_inc.core.settings import Settings

    try:
        settings = Settings.from_env()
        run_ingest(
            settings,
            workers=args.workers,
            echo=lambda line: print(line, flush=True),
            progress_stream=None if args.quiet else sys.stderr,
        )
    except IngestError as exc:
        print(f"ingest: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(
            "ingest: interrupted; nothing half-written was published, rerun to finish",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - one line, never a token
        if os.environ.get("TAMALES_DEBUG"):
            raise
        message = redact(" ".join(str(exc).split()))[:300]
        print(
            f"ingest: unexpected error: {type(exc).__name__}: {message} "
            "(set TAMALES_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
