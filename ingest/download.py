"""Parallel, ordered blob downloads with a bound on the bytes held in memory."""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future

from ingest.cancel import POLL_SECONDS, THREAD_PREFIX, CancelToken
from ingest.source import BlobInfo, Download, Source

DEFAULT_WORKERS = 6
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
_Job = tuple[BlobInfo, "Future[Download]"] | None


class Prefetcher:
    """Yields downloads in `blobs` order while up to `workers` threads fetch the next ones.

    At most `max_bytes` of listed blob sizes are in flight (always at least one blob), so memory
    stays bounded however large the container is. The threads are daemons and the wait for each
    download checks `cancel`, so a stalled download never holds up an interrupted run.
    """

    def __init__(
        self,
        source: Source,
        blobs: list[BlobInfo],
        *,
        workers: int = DEFAULT_WORKERS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        cancel: CancelToken | None = None,
    ) -> None:
        self._source = source
        self._blobs = blobs
        self._workers = max(1, min(workers, len(blobs)))
        self._max_bytes = max_bytes
        self._cancel = cancel or CancelToken()
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._pending: deque[tuple[BlobInfo, Future[Download]]] = deque()
        for index in range(self._workers if blobs else 0):
            name = f"{THREAD_PREFIX}download-{index}"
            threading.Thread(target=self._work, name=name, daemon=True).start()

    def _work(self) -> None:
        """One download thread: fetch queued blobs until told to stop. The job is dropped before
        waiting for the next, so an idle thread holds no downloaded bytes."""
        while (job := self._jobs.get()) is not None:
            self._fetch(*job)
            del job

    def _fetch(self, blob: BlobInfo, future: Future[Download]) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(self._source.download(blob))
        except BaseException as exc:  # handed to the consumer with the future
            future.set_exception(exc)

    def __iter__(self) -> Iterator[Download]:
        pending = self._pending
        next_index = 0
        in_flight = 0
        while next_index < len(self._blobs) or pending:
            while next_index < len(self._blobs) and len(pending) < self._workers:
                blob = self._blobs[next_index]
                if pending and in_flight + blob.size > self._max_bytes:
                    break
                future: Future[Download] = Future()
                self._jobs.put((blob, future))
                pending.append((blob, future))
                in_flight += blob.size
                next_index += 1
            blob, future = pending[0]
            download = self._result(future)
            pending.popleft()
            del future  # the download is the caller's now
            in_flight -= blob.size
            yield download

    def _result(self, future: Future[Download]) -> Download:
        """Wait for one download, looking at the cancel token between short waits."""
        while True:
            self._cancel.check()
            try:
                return future.result(timeout=POLL_SECONDS)
            except TimeoutError:
                continue

    def close(self) -> None:
        """Stop: queued downloads are cancelled, running ones finish (or stall) in the
        background on their daemon threads."""
        for _blob, future in self._pending:
            future.cancel()
        for _ in range(self._workers):
            self._jobs.put(None)
