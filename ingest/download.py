"""Parallel, ordered blob downloads with a bound on the bytes held in memory."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from ingest.source import BlobInfo, Download, Source

DEFAULT_WORKERS = 6
DEFAULT_MAX_BYTES = 256 * 1024 * 1024


class Prefetcher:
    """Yields downloads in `blobs` order while up to `workers` threads fetch the next ones.

    At most `max_bytes` of listed blob sizes are in flight (always at least one blob), so memory
    stays bounded however large the container is.
    """

    def __init__(
        self,
        source: Source,
        blobs: list[BlobInfo],
        *,
        workers: int = DEFAULT_WORKERS,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self._source = source
        self._blobs = blobs
        self._workers = max(1, workers)
        self._max_bytes = max_bytes
        self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="ingest-download")

    def __iter__(self) -> Iterator[Download]:
        pending: deque[tuple[BlobInfo, Future[Download]]] = deque()
        next_index = 0
        in_flight = 0
        while next_index < len(self._blobs) or pending:
            while next_index < len(self._blobs) and len(pending) < self._workers:
                blob = self._blobs[next_index]
                if pending and in_flight + blob.size > self._max_bytes:
                    break
                pending.append((blob, self._executor.submit(self._source.download, blob)))
                in_flight += blob.size
                next_index += 1
            blob, future = pending.popleft()
            download = future.result()
            in_flight -= blob.size
            yield download

    def close(self) -> None:
        """Stop: queued downloads are cancelled, running ones finish in the background."""
        self._executor.shutdown(wait=False, cancel_futures=True)
