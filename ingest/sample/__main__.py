"""`python -m ingest.sample`: write a sample container folder, and optionally upload it."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from ingest.azure_errors import api_version_hint
from ingest.sample.extra import DEFAULT_SERIES
from ingest.sample.upload import upload
from ingest.sample.writer import DEFAULT_SEED, DEFAULT_VERSIONS, generate
from tamales_inc.core.cli import make_parser, run_command
from tamales_inc.core.errors import TamalesError, UsageError

PROG = "sample"


def _parser() -> argparse.ArgumentParser:
    p = make_parser(
        PROG,
        "Write a sample Tamales Inc blob container (the layout and quirks of the raw container), "
        "and optionally upload it to an Azure (or Azurite) container.",
    )
    p.add_argument("--out", type=Path, help="folder to write (must be missing or empty)")
    p.add_argument("--scale", type=int, default=1, help="lines per key multiplier (default 1)")
    p.add_argument(
        "--versions",
        default=",".join(DEFAULT_VERSIONS),
        help="comma-separated data versions yyyymmdd (default %(default)s)",
    )
    p.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
    )
    p.add_argument(
        "--series",
        type=int,
        default=DEFAULT_SERIES,
        help=f"series in the mart (default {DEFAULT_SERIES}); more adds ERP products, 4 zones each",
    )
    p.add_argument("--force", action="store_true", help="replace a non-empty --out folder")
    p.add_argument("--connection-string", help="upload to this Azure storage account")
    p.add_argument("--container", help="container to create/fill with --connection-string")
    p.add_argument("--blob-url", help="upload to this container SAS URL (needs write access)")
    return p


def _check_targets(args: argparse.Namespace) -> bool:
    """Whether the command uploads; UsageError for a target given by halves or twice."""
    if args.connection_string == "":
        raise UsageError(
            "--connection-string is empty: set AZURE_STORAGE_CONNECTION_STRING "
            "(copy .env.example to .env)"
        )
    uploading = bool(args.blob_url or args.connection_string or args.container)
    if uploading and not args.blob_url and not (args.connection_string and args.container):
        raise UsageError("--connection-string and --container go together")
    if args.blob_url and (args.connection_string or args.container):
        raise UsageError("give --blob-url or --connection-string/--container, not both")
    if args.out is None and not uploading:
        raise UsageError("--out: required unless uploading (--blob-url or --connection-string)")
    return uploading


def _upload(args: argparse.Namespace, folder: Path) -> str:
    """Upload `folder` to the target of the command line; the summary's upload clause."""
    started = time.perf_counter()
    try:
        n = upload(
            folder,
            connection_string=args.connection_string,
            container=args.container,
            blob_url=args.blob_url,
        )
    except Exception as exc:  # noqa: BLE001 - azure errors: one line, no SAS token
        status = getattr(exc, "status_code", None)
        hint = ""
        if status in (401, 403):
            hint = " (check the key, or that the SAS allows create+write: sp=...cw...)"
        elif api_version_hint(exc):
            hint = f" ({api_version_hint(exc)})"
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise TamalesError(f"upload failed: {type(exc).__name__}: {first}{hint}") from None
    where = args.container or "the SAS container"
    return f"; uploaded {n} blobs to {where} in {time.perf_counter() - started:.1f} s"


def _sample(args: argparse.Namespace) -> None:
    uploading = _check_targets(args)
    versions = [v for v in args.versions.split(",") if v.strip()]
    with tempfile.TemporaryDirectory(prefix="tamales-sample-") as scratch:
        out = args.out if args.out is not None else Path(scratch) / "container"
        try:
            summary = generate(
                out,
                scale=args.scale,
                versions=versions,
                seed=args.seed,
                force=args.force,
                series=args.series,
            )
        except (ValueError, FileExistsError) as exc:
            raise UsageError(str(exc)) from None
        line = summary.line()
        if args.out is None:
            line = line.replace(f" -> {summary.out_dir}", " (temporary folder)")
        if uploading:
            line += _upload(args, summary.out_dir)
    print(line)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return the exit code."""
    return run_command(PROG, _parser(), _sample, argv)


if __name__ == "__main__":
    sys.exit(main())
