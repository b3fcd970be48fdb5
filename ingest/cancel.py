"""Stop a long ingest promptly on Ctrl-C or SIGTERM.

Python runs signal handlers only in the main thread, between bytecodes; polars' parquet sink and
a stalled socket read can hold a thread for minutes. So the landing runs in a daemon worker
thread while the main thread waits in short, interruptible steps: on a signal it sets a
`CancelToken`, which the worker checks between blobs and while it waits for a download, gives the
worker a few seconds to clean up its temp files, and re-raises. Downloads run on daemon threads,
so a stalled one never keeps the process alive.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

POLL_SECONDS = 0.1  # how often waiting threads look at the token
GRACE_SECONDS = 3.0  # how long an interrupted run waits for its worker to clean up
THREAD_PREFIX = "ingest-"  # every thread the ingest starts; see `exit_now_if_threads_linger`
log = logging.getLogger(__name__)
T = TypeVar("T")


class Cancelled(Exception):
    """The run was interrupted: raised in worker threads by `CancelToken.check`."""


class CancelToken:
    """A flag the main thread sets on a signal and worker threads check at safe points."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise `Cancelled` once the run is interrupted."""
        if self._event.is_set():
            raise Cancelled("the ingest was interrupted")


def run_cancellable(
    work: Callable[[CancelToken], T], *, name: str, grace: float = GRACE_SECONDS
) -> T:
    """Run `work(token)` in a daemon thread named `ingest-<name>` and return its result.

    The main thread waits in steps of `POLL_SECONDS`, so Ctrl-C and SIGTERM reach it at once;
    then the token is cancelled, the worker gets `grace` seconds to stop, and the interrupt is
    re-raised (a worker that is still busy is left to the process exit).
    """
    token = CancelToken()
    done = threading.Event()
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = work(token)
        except BaseException as exc:  # handed to the main thread below
            outcome["error"] = exc
        finally:
            done.set()

    worker = threading.Thread(target=target, name=f"{THREAD_PREFIX}{name}", daemon=True)
    worker.start()
    try:
        while not done.wait(POLL_SECONDS):
            pass
    except BaseException:
        token.cancel()
        if not done.wait(grace):
            log.warning("the %s step did not stop within %.0f s; exiting without it", name, grace)
        raise
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def busy_threads() -> list[str]:
    """The names of the ingest's threads still running."""
    return [
        thread.name
        for thread in threading.enumerate()
        if thread.name.startswith(THREAD_PREFIX) and thread.is_alive()
    ]


def exit_now_if_threads_linger(code: int) -> None:
    """End the process with `code` at once when an ingest thread is still running.

    A worker stuck in native code (polars' sink, a socket read) cannot be joined, and whatever
    it does later (coming back into Python while the interpreter shuts down) must not hold up or
    crash the exit; the outputs are already safe (temps swept, lock released), so the process
    leaves without it.
    """
    if not busy_threads():
        return
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
