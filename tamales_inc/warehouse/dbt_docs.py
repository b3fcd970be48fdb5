"""dbt docs of the published warehouse (the models' documentation site), generated offline and
served on 127.0.0.1. Not the API's OpenAPI docs, which the service serves itself."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tamales_inc.core.cli import Terminated, make_parser, run_command
from tamales_inc.core.errors import TamalesError
from tamales_inc.core.settings import Settings
from tamales_inc.warehouse.dbt import invoke_dbt
from tamales_inc.warehouse.publish import require_published

PROG = "docs"
DEFAULT_PORT = 8080
SITE_FILES = ("index.html", "manifest.json", "catalog.json")
log = logging.getLogger(__name__)


class DbtDocsError(TamalesError):
    """The dbt docs could not be generated or served."""


def dbt_docs_dir(settings: Settings) -> Path:
    """Default folder the generated dbt docs site is written to."""
    return settings.dbt_dir / "docs"


def generate_dbt_docs(settings: Settings, out_dir: Path | None = None) -> Path:
    """Run `dbt docs generate` against a copy of the published warehouse; return the site folder.

    The copy keeps the published file free of dbt's read-write connection. The site (index.html,
    manifest.json, catalog.json) needs no network: dbt's index.html is self-contained and its
    usage tracker is off (`send_anonymous_usage_stats: false` in dbt_project.yml). Raises
    WarehouseNotPublished when no warehouse is published, DbtDocsError when dbt fails.
    """
    published = require_published(settings)
    site = out_dir or dbt_docs_dir(settings)
    site.mkdir(parents=True, exist_ok=True)
    # same file name as the published warehouse, so the docs show its catalog name (`tamales`)
    snapshot = site / "snapshot" / published.name
    snapshot.parent.mkdir(exist_ok=True)
    shutil.copyfile(published, snapshot)
    try:
        outcome = invoke_dbt(settings, ["docs", "generate"], snapshot, target_dir=site)
    finally:
        shutil.rmtree(snapshot.parent, ignore_errors=True)
    if not outcome.success:
        raise DbtDocsError(f"dbt docs generate failed: {outcome.failure_summary()}")
    metadata = json.loads((site / "manifest.json").read_text(encoding="utf-8"))["metadata"]
    if metadata.get("send_anonymous_usage_stats"):
        raise DbtDocsError("dbt docs would load a tracker from the internet; keep usage stats off")
    missing = [name for name in SITE_FILES if not (site / name).is_file()]
    if missing:
        raise DbtDocsError(f"dbt docs generate did not write {', '.join(missing)} in {site}")
    return site


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def make_dbt_docs_server(
    site: Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT
) -> ThreadingHTTPServer:
    """An HTTP server for the site folder (port 0 picks a free port); call serve_forever()."""
    handler = partial(_QuietHandler, directory=str(site))
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as error:
        raise DbtDocsError(f"cannot listen on {host}:{port}: {error}") from error


def _command(args: argparse.Namespace) -> None:
    site = generate_dbt_docs(Settings.from_env())
    if args.no_serve:
        print(f"docs: generated {site}")
        return
    log.info("generated %s", site)
    server = make_dbt_docs_server(site, port=args.port)
    print(
        f"docs: serving http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop)", flush=True
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt as stop:  # Ctrl-C is how the docs server is meant to stop
        if isinstance(stop, Terminated):
            raise
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    """CLI: `python -m tamales_inc.warehouse.dbt_docs [--port 8080] [--no-serve]`."""
    parser = make_parser(
        PROG, "Generate the dbt docs of the published warehouse and serve them on 127.0.0.1."
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port on 127.0.0.1")
    parser.add_argument("--no-serve", action="store_true", help="only generate the site")
    return run_command(PROG, parser, _command, argv)


if __name__ == "__main__":
    raise SystemExit(main())
