"""`python -m ingest.sas <container> [--hours N]`: a read+list SAS URL for one container.

Signed with the account key of AZURE_STORAGE_CONNECTION_STRING (Azure, or `just azurite`'s
emulator); the URL is what TAMALES_BLOB_URL takes. Nothing is sent to the service.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from datetime import UTC, datetime, timedelta

from ingest.errors import IngestError, redact
from tamales_inc.core.cli import make_parser, run_command
from tamales_inc.core.errors import UsageError

PROG = "sas"
DEFAULT_HOURS = 8.0
CLOCK_SKEW = timedelta(minutes=5)  # the token starts a little in the past
CONTAINER_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")
log = logging.getLogger(PROG)


def container_sas_url(
    connection_string: str, container: str, hours: float, now: datetime | None = None
) -> str:
    """The container's URL with a read+list SAS token valid for `hours` from `now`."""
    from azure.storage.blob import (
        BlobServiceClient,
        ContainerSasPermissions,
        generate_container_sas,
    )

    try:
        service = BlobServiceClient.from_connection_string(connection_string)
    except ValueError as exc:
        raise IngestError(
            f"AZURE_STORAGE_CONNECTION_STRING is invalid ({redact(str(exc))}); expected "
            "DefaultEndpointsProtocol=...;AccountName=...;AccountKey=...;"
        ) from None
    key = getattr(service.credential, "account_key", None)
    if not key:
        raise IngestError(
            "AZURE_STORAGE_CONNECTION_STRING has no AccountKey: a SAS is signed with the "
            "account key (see .env.example)"
        )
    now = now or datetime.now(UTC)
    token = generate_container_sas(
        account_name=service.account_name,
        container_name=container,
        account_key=key,
        permission=ContainerSasPermissions(read=True, list=True),
        start=now - CLOCK_SKEW,
        expiry=now + timedelta(hours=hours),
    )
    return f"{service.url.rstrip('/')}/{container}?{token}"


def _parser() -> argparse.ArgumentParser:
    parser = make_parser(
        PROG,
        "Print a read+list (sp=rl) SAS URL for a container, signed with the account key of "
        "AZURE_STORAGE_CONNECTION_STRING; use it as TAMALES_BLOB_URL.",
    )
    parser.add_argument("container", help="container name, e.g. tamales-inc")
    parser.add_argument(
        "--hours", type=float, default=DEFAULT_HOURS, help=f"validity (default {DEFAULT_HOURS:g})"
    )
    return parser


def _sas(args: argparse.Namespace) -> None:
    from tamales_inc.core.settings import Settings

    if not CONTAINER_NAME.match(args.container):
        raise UsageError(
            f"container {args.container!r}: 3-63 lowercase letters, digits and single hyphens"
        )
    if not 0 < args.hours <= 24 * 365:
        raise UsageError(f"--hours {args.hours:g}: expected more than 0 and at most 8760")
    settings = Settings.from_env()
    if not settings.connection_string:
        raise IngestError(
            "AZURE_STORAGE_CONNECTION_STRING is not set; copy .env.example to .env (the "
            "emulator's account) or export your account's connection string"
        )
    url = container_sas_url(settings.connection_string, args.container, args.hours)
    expiry = datetime.now(UTC) + timedelta(hours=args.hours)
    log.info("read+list SAS for %s, valid until %s", args.container, f"{expiry:%Y-%m-%dT%H:%MZ}")
    print(url, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Print the SAS URL; return the exit code."""
    return run_command(PROG, _parser(), _sas, argv)


if __name__ == "__main__":
    sys.exit(main())
