"""dbt docs for the published warehouse: generated offline and served on 127.0.0.1."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tamales_inc.core.settings import Settings
from tamales_inc.warehouse.dbt import dbt_target_dir, invoke_dbt
from tamales_inc.warehouse.publish import require_published

DEFAULT_PORT = 8080
DOCS_FILES = ("index.html", "manifest.json", "catalog.json")


class DocsError(RuntimeError):
    """The docs could not be generated."""


def docs_dir(settings: Settings) -> Path:
    """Default folder the generated docs site is written to."""
    return dbt_target_dir(settings).parent / "docs"


def generate_docs(settings: Settings, out_dir: Path | None = None) -> Path:
    """Run `dbt docs generate` against a copy of the published warehouse; return the site folder.

    The copy keeps the published file free of dbt's read-write connection. The site (index.html,
    manifest.json, catalog.json) needs no network: dbt's index.html is self-contained and its
    usage tracker is off (`send_anonymous_usage_stats: false` in dbt_project.yml). Raises
    FileNotFoundError when no warehouse is published, DocsError when dbt fails.
    """
    published = require_published(settings)
    site = out_dir or docs_dir(settings)
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
        raise DocsError(f"dbt docs generate failed: {outcome.failure_summary()}")
    metadata = json.loads((site / "manifest.json").read_text(encoding="utf-8"))["metadata"]
    if metadata.get("send_anonymous_usage_stats"):
        raise DocsError("dbt docs would load a tracker from the internet; keep usage stats off")
    missing = [name for name in DOCS_FILES if not (site / name).is_file()]
    if missing:
        raise DocsError(f"dbt docs generate did not write {', '.join(missing)} in {site}")
    return site


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def make_docs_server(
    site: Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT
) -> ThreadingHTTPServer:
    """An HTTP server for the docs folder (port 0 picks a free port); call serve_forever()."""
    handler = partial(_QuietHandler, directory=str(site))
    return ThreadingHTTPServer((host, port), handler)


def main(argv: list[str] | None = None) -> int:
    """CLI: `python -m tamales_inc.warehouse.dbt_docs [--port 8080] [--no-serve]`."""
    parser = argparse.ArgumentParser(
        prog="python -m tamales_inc.warehouse.dbt_docs",
        description="Generate the dbt docs of the published warehouse and serve them locally.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port on 127.0.0.1")
    parser.add_argument("--no-serve", action="store_true", help="only generate the site")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    try:
        site = generate_docs(settings)
    except (DocsError, FileNotFoundError) as error:
        print(f"docs: error: {error}", file=sys.stderr)
        return 1
    print(f"docs: generated {site}")
    if args.no_serve:
        return 0
    try:
        server = make_docs_server(site, port=args.port)
    except OSError as error:
        print(f"docs: error: cannot listen on 127.0.0.1:{args.port}: {error}", file=sys.stderr)
        return 1
    print(
        f"docs: serving http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop)", flush=True
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
