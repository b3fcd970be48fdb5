"""`python -m tamales_sales_service [--host HOST] [--port PORT]`: serve the API with uvicorn."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from tamales_inc.core.cli import EXIT_TERMINATED, Terminated, make_parser, run_command
from tamales_inc.core.errors import UsageError
from tamales_inc.core.settings import Settings
from tamales_sales_service.app import DEFAULT_CACHE_SIZE, create_app

PROG = "serve"
log = logging.getLogger(__name__)


def _command(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    host = args.host or settings.api_host
    port = settings.api_port if args.port is None else args.port
    if not 0 < port < 65536:
        raise UsageError(f"--port {port} is not a TCP port (1-65535)")
    if args.cache_size < 0:
        raise UsageError(f"--cache-size {args.cache_size} must be >= 0")
    config = uvicorn.Config(
        create_app(settings, cache_size=args.cache_size),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_level=args.log_level,
        access_log=args.access_log,
    )
    print(f"serving {settings.warehouse_path} on http://{host}:{port}", flush=True)
    # uvicorn shuts down gracefully on SIGINT / SIGTERM, then passes the signal on
    try:
        uvicorn.Server(config).run()
    except Terminated:
        log.info("stopped (SIGTERM)")
        return EXIT_TERMINATED
    except KeyboardInterrupt:  # Ctrl-C is how a server is meant to stop
        log.info("stopped (Ctrl-C)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run uvicorn (uvloop + httptools) until stopped."""
    parser = make_parser(
        PROG,
        "Serve the sales API over the published warehouse and the promoted model with uvicorn.",
    )
    parser.add_argument(
        "--host", help="address to listen on (default: TAMALES_API_HOST or 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, help="port to listen on (default: TAMALES_API_PORT or 8000)"
    )
    parser.add_argument(
        "--cache-size",
        type=int,
        default=DEFAULT_CACHE_SIZE,
        help=f"query results kept per published warehouse (default {DEFAULT_CACHE_SIZE}; 0: off)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="uvicorn's log level (server start and stop, its errors)",
    )
    parser.add_argument("--access-log", action="store_true", help="log every request")
    return run_command(PROG, parser, _command, argv)


if __name__ == "__main__":
    raise SystemExit(main())
