"""`python -m ingest.azurite`: the pinned Azurite blob emulator on 127.0.0.1, for local work.

Installs the emulator pinned in `package-lock.json` (`npm ci`) when it is missing, starts it with
the flags this project's SDK needs (`--skipApiVersionCheck --loose`; `--silent`: no access log
with SAS signatures in it), keeps its data under `$TAMALES_HOME/azurite`, prints the connection
string and runs until Ctrl-C (or SIGTERM), which stops the emulator and exits 0.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tamales_inc.core.cli import make_parser, run_command
from tamales_inc.core.errors import TamalesError, UsageError

PROG = "azurite"
REPO_ROOT = Path(__file__).resolve().parents[1]
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"
# the SDK's API version is newer than the emulator's; lenient headers; no access log (its URLs
# would carry SAS signatures)
FLAGS = ("--skipApiVersionCheck", "--loose", "--silent")
DEFAULT_PORT = 10000
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
CLOSED = "successfully closed"  # the emulator's last log line on shutdown
ACCOUNT = "devstoreaccount1"
# Azurite's documented, well-known development account key: not a secret.
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
log = logging.getLogger(PROG)


def connection_string(port: int = DEFAULT_PORT) -> str:
    """The emulator's connection string (its well-known development account)."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
    )


def _parser() -> argparse.ArgumentParser:
    parser = make_parser(
        PROG,
        "Start the pinned Azurite blob emulator on 127.0.0.1 (installed with `npm ci` if "
        "missing) with the flags the SDK needs, print its connection string and run until "
        "Ctrl-C. Data under $TAMALES_HOME/azurite.",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"blob port (default {DEFAULT_PORT})"
    )
    parser.add_argument("--location", type=Path, help="data folder (default $TAMALES_HOME/azurite)")
    return parser


def ensure_installed() -> Path:
    """The emulator's executable, installed from `package-lock.json` if missing."""
    if AZURITE_BIN.exists():
        return AZURITE_BIN
    npm = shutil.which("npm")
    if npm is None:
        raise TamalesError("npm not found: install Node.js 20+ with npm, then rerun")
    log.info("installing the pinned Azurite (npm ci) ...")
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=REPO_ROOT, check=False
    )
    if done.returncode != 0 or not AZURITE_BIN.exists():
        raise TamalesError(f"`npm ci` failed (exit {done.returncode}) in {REPO_ROOT}")
    return AZURITE_BIN


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class Emulator:
    """A running emulator: its process and its log (from `log_offset` on, this run's lines)."""

    process: subprocess.Popen[bytes]
    port: int
    logfile: Path
    log_offset: int

    def log_since_start(self) -> str:
        with open(self.logfile, "rb") as handle:
            handle.seek(self.log_offset)
            return handle.read().decode("utf-8", "replace")


def start(port: int, location: Path) -> Emulator:
    """Start the emulator (output appended to `<location>/azurite.log`), wait until it listens."""
    binary = ensure_installed()
    if _listening(port):
        raise TamalesError(
            f"127.0.0.1:{port} is already in use (another Azurite?); stop it or pass --port"
        )
    location.mkdir(parents=True, exist_ok=True)
    logfile = location / "azurite.log"
    argv = [
        str(binary), "--blobHost", "127.0.0.1", "--blobPort", str(port),
        "--location", str(location), *FLAGS,
    ]  # fmt: skip
    with open(logfile, "ab") as output:  # the child keeps its own handle
        offset = output.tell()
        process = subprocess.Popen(
            argv, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    emulator = Emulator(process, port, logfile, offset)
    try:
        _wait_listening(emulator)
    except BaseException:
        stop(emulator)
        raise
    return emulator


def _wait_listening(emulator: Emulator) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not _listening(emulator.port):
        if emulator.process.poll() is not None:
            raise TamalesError(
                f"Azurite exited with code {emulator.process.returncode}; see {emulator.logfile}"
            )
        if time.monotonic() > deadline:
            raise TamalesError(
                f"Azurite did not listen within {START_TIMEOUT:.0f} s; see {emulator.logfile}"
            )
        time.sleep(0.1)


def stop(emulator: Emulator) -> None:
    """Stop the emulator as Ctrl-C does (it saves its metadata and closes its server); once it
    logs that it closed, or after STOP_TIMEOUT, end its process (after serving requests node
    can linger for many seconds with nothing left to do)."""
    process = emulator.process
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + STOP_TIMEOUT
        while process.poll() is None and time.monotonic() < deadline:
            if CLOSED in emulator.log_since_start():
                break
            time.sleep(0.1)
        if process.poll() is None:
            process.kill()
    process.wait(timeout=10)


def _azurite(args: argparse.Namespace) -> int:
    from tamales_inc.core.settings import Settings

    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port} is not a TCP port (1-65535)")
    location = args.location or Settings.from_env().azurite_dir
    emulator = start(args.port, location.resolve())
    try:  # from here on, Ctrl-C or SIGTERM is the way to stop it
        log.info(
            "blob service on http://127.0.0.1:%d/%s (data in %s); Ctrl-C stops it",
            args.port,
            ACCOUNT,
            location,
        )
        print(f"AZURE_STORAGE_CONNECTION_STRING={connection_string(args.port)}", flush=True)
        code = _run_until_exit(emulator.process)
    except KeyboardInterrupt:
        stop(emulator)
        log.info("stopped")
        return 0
    except BaseException:
        stop(emulator)
        raise
    raise TamalesError(f"Azurite exited with code {code}; see {emulator.logfile}")


def _run_until_exit(process: subprocess.Popen[bytes]) -> int:
    """Wait for the emulator in short, interruptible steps; its exit code."""
    while True:
        try:
            return process.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            continue


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until interrupted; return the exit code."""
    return run_command(PROG, _parser(), _azurite, argv)


if __name__ == "__main__":
    sys.exit(main())
