"""The command-line convention every entry point follows.

- `--help` explains the command, its options and these exit codes: 0 ok, 1 failed, 2 bad usage,
  130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
- A failure is one line on stderr, `<command>: error: <what failed, where, what to do next>`;
  `TAMALES_DEBUG=1` adds the traceback.
- Progress goes through `logging` to stderr as `<command>: <message>` (`--quiet` keeps warnings
  only, `--verbose` adds debug lines); the command's summary is its last line on stdout. Library
  code logs; it never prints.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from tamales_inc.core.errors import TamalesError, UsageError, one_line, os_advice
from tamales_inc.core.progress import ProgressAwareHandler, set_prefix

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143
EXIT_CODES = (
    "exit codes: 0 ok, 1 failed (one line on stderr; TAMALES_DEBUG=1 for a traceback), "
    "2 bad usage, 130 interrupted, 143 terminated"
)
QUIET_LOGGERS = ("azure", "urllib3", "asyncio", "numba", "matplotlib", "cmdstanpy")


REDELIVER_SECONDS = 0.05  # a stop swallowed by a finaliser is sent again after this


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so the same clean-up runs."""


def make_parser(prog: str, description: str, **kwargs: object) -> argparse.ArgumentParser:
    """An argument parser with the shared `--quiet` / `--verbose` options and the exit codes."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=EXIT_CODES,
        **kwargs,  # type: ignore[arg-type]
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    output.add_argument("-v", "--verbose", action="store_true", help="debug lines too")
    return parser


def configure_logging(name: str, *, quiet: bool = False, verbose: bool = False) -> None:
    """Log to stderr as `<name>: <message>`, INFO by default."""
    handler = ProgressAwareHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{name}: %(message)s"))
    set_prefix(f"{name}: ")
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)
    # a log line that cannot be written (e.g. a library's log file on a full disk) must not
    # print a traceback of its own: the command's one-line error says what went wrong
    logging.raiseExceptions = False
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def describe(exc: BaseException) -> str:
    """One line for a failure: the message of a TamalesError, the file and advice for an OS error
    (or for a library error wrapping one, e.g. DuckDB's "No space left on device"), else the type
    and first line of the message."""
    if isinstance(exc, TamalesError):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno is not None:
        where = f" ({exc.filename})" if exc.filename else ""
        advice = os_advice(exc.errno) or exc.strerror or type(exc).__name__
        return one_line(f"{exc.strerror or type(exc).__name__}{where}: {advice}")
    text = str(exc).strip().splitlines()
    first = text[0] if text else "no message"
    advice = os_advice(str(exc))
    if advice:
        return one_line(f"{first}: {advice}")
    return one_line(f"{type(exc).__name__}: {first}")


def is_explained(exc: BaseException) -> bool:
    """Whether `describe` says what to do next (no traceback hint needed)."""
    return isinstance(exc, TamalesError | OSError) or os_advice(str(exc)) is not None


@contextmanager
def _sigterm_as_interrupt(received: list[int]) -> Iterator[None]:
    """SIGTERM raises `Terminated` in the main thread and is noted in `received`: a library that
    catches the exception (dbt closes its connections and reports a failed run) cannot turn the
    stop into an ordinary failure (a command that handles it and returns, as a server stopping
    cleanly does, keeps its own exit code). Ctrl-C keeps Python's own KeyboardInterrupt (the SQL
    shell uses it to cancel one query)."""

    def handler(signum: int, frame: object) -> None:
        received.append(signum)
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. called from a test runner thread)
        yield
        return
    previous_hook, sys.unraisablehook = sys.unraisablehook, _redeliver_stops(sys.unraisablehook)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        sys.unraisablehook = previous_hook


def _redeliver_stops(
    default: Callable[[sys.UnraisableHookArgs], object],
) -> Callable[[sys.UnraisableHookArgs], None]:
    """An unraisable-exception hook for stops: a signal that lands while Python runs a finaliser
    (`__del__`, a weakref callback of a library) raises there, where Python can only print it
    ("Exception ignored in ...") and carry on. The hook prints nothing and sends the signal
    again a moment later, once the finaliser has returned, so the command still stops."""

    def hook(unraisable: sys.UnraisableHookArgs) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            stop = isinstance(unraisable.exc_value, Terminated)
            again = signal.SIGTERM if stop else signal.SIGINT
            threading.Timer(REDELIVER_SECONDS, os.kill, (os.getpid(), again)).start()
            return
        default(unraisable)

    return hook


def run_command(
    prog: str,
    parser: argparse.ArgumentParser,
    command: Callable[[argparse.Namespace], int | None],
    argv: Sequence[str] | None = None,
) -> int:
    """Parse `argv`, set up logging and run `command(args)` under the convention; the exit code."""
    args = parser.parse_args(argv)  # exits 2 on bad usage, 0 on --help
    configure_logging(
        prog, quiet=getattr(args, "quiet", False), verbose=getattr(args, "verbose", False)
    )
    log = logging.getLogger(prog)
    received: list[int] = []
    try:
        with _sigterm_as_interrupt(received):
            code = command(args)
    except Terminated:
        log.error("terminated; nothing half-written was published, rerun to finish")
        return EXIT_TERMINATED
    except BrokenPipeError:  # the reader went away (`just status | head -3`): not a failure
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so flushing stdout at exit does not fail again
        return EXIT_OK
    except KeyboardInterrupt:
        log.error("interrupted; nothing half-written was published, rerun to finish")
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line
        if received:  # a library caught the SIGTERM and failed instead
            log.error("terminated; nothing half-written was published, rerun to finish")
            return EXIT_TERMINATED
        from tamales_inc.core.settings import debug_enabled

        if debug_enabled():
            traceback.print_exc()
        print(f"{prog}: error: {describe(exc)}", file=sys.stderr, flush=True)
        if not is_explained(exc) and not debug_enabled():
            print(f"{prog}: (set TAMALES_DEBUG=1 for a traceback)", file=sys.stderr, flush=True)
        return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILED
    return EXIT_OK if code is None else code
