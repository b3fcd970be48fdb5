"""`python -m tamales_sales_service --host 127.0.0.1 --port 8000`: serve the API with uvicorn."""

from __future__ import annotations

import argparse
import os
import sys

import uvicorn

from tamales_inc.core.settings import Settings
from tamales_sales_service.app import DEFAULT_CACHE_SIZE, create_app


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run uvicorn (uvloop + httptools) until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m tamales_sales_service", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("TAMALES_API_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("TAMALES_API_PORT", "8000")))
    parser.add_argument(
        "--cache-size",
        type=int,
        default=DEFAULT_CACHE_SIZE,
        help=f"query results kept per published warehouse (default {DEFAULT_CACHE_SIZE}; 0: off)",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument("--access-log", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        print(f"error: --port {args.port} is not a TCP port (1-65535)", file=sys.stderr)
        return 2
    if args.cache_size < 0:
        print(f"error: --cache-size {args.cache_size} must be >= 0", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    print(f"serving {settings.warehouse_path} on http://{args.host}:{args.port}", flush=True)
    uvicorn.run(
        create_app(settings, cache_size=args.cache_size),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level=args.log_level,
        access_log=args.access_log,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
