"""Where blobs come from: an Azure container (SAS URL or connection string) or a local folder."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from ingest.azure_errors import RETRIES, azure_error
from ingest.errors import IngestError, redact, redact_url
from ingest.parsing import BOM, count_lines
from tamales_inc.core.settings import Settings

LIST_PAGE_SIZE = 5000
DEFAULT_TIMEOUT = Settings.blob_timeout  # seconds; TAMALES_BLOB_TIMEOUT


@dataclass(frozen=True)
class BlobInfo:
    """A listed blob: its name, change token (etag), size and service MD5 (hex) if any."""

    name: str
    etag: str
    size: int
    content_md5: str | None = None


@dataclass(frozen=True)
class Download:
    """A downloaded blob's content and MD5 (hex), checked against the service's when it has one,
    and its lines (counted here, in the download thread, off the parsing thread's path).

    The content is `data`, or for a plain local file (`plain`: no quote, no stray carriage
    return, no byte-order mark) `path`, which the parser reads itself without a copy.
    """

    blob: BlobInfo
    data: bytes | None
    md5: str
    lines: int
    path: Path | None = None

    @property
    def content(self) -> bytes | Path:
        """The bytes, or the local file that holds them."""
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path

    def check_unchanged(self) -> None:
        """Fail when the local file changed since it was listed (after the parser read it)."""
        if self.path is not None and _file_etag(self.path) != self.blob.etag:
            raise IngestError(
                f"blob {self.blob.name}: the file changed while it was landed; rerun the ingest"
            )


class Source(Protocol):
    """A read-only blob source; `description` is safe to log (no secrets)."""

    description: str
    downloads: int

    def list_blobs(self, prefix: str) -> Iterator[BlobInfo]: ...

    def download(self, blob: BlobInfo) -> Download: ...

    def close(self) -> None: ...


def open_source(settings: Settings) -> Source:
    """The configured source: SAS URL, connection string + container, folder, or the sample."""
    if settings.blob_url:
        return AzureSource.from_url(settings.blob_url, timeout=settings.blob_timeout)
    if settings.connection_string or settings.container:
        if not (settings.connection_string and settings.container):
            missing = (
                "TAMALES_CONTAINER"
                if settings.connection_string
                else "AZURE_STORAGE_CONNECTION_STRING"
            )
            raise IngestError(
                f"{missing} is not set; a connection-string source needs both "
                "AZURE_STORAGE_CONNECTION_STRING and TAMALES_CONTAINER"
            )
        return AzureSource.from_connection_string(
            settings.connection_string, settings.container, timeout=settings.blob_timeout
        )
    if settings.source_dir:
        return LocalSource(settings.source_dir)
    from ingest.sample.provision import ensure_sample_container

    return LocalSource(ensure_sample_container(settings))


def _checked(blob: BlobInfo, data: bytes, where: str) -> Download:
    if len(data) != blob.size:
        raise IngestError(
            f"blob {blob.name} in {where}: read {len(data)} bytes, listed {blob.size}; "
            "it changed during the run, rerun the ingest"
        )
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    if blob.content_md5 and md5 != blob.content_md5:
        raise IngestError(
            f"blob {blob.name} in {where}: content MD5 {md5} does not match the service's "
            f"{blob.content_md5}; the download is corrupt, rerun the ingest"
        )
    return Download(blob, data, md5, count_lines(data))


CHUNK_BYTES = 8 * 1024 * 1024  # a local file is hashed and scanned in pieces of this size


def _file_etag(path: Path) -> str:
    """A local file's change token: mtime and size."""
    stat = path.stat()
    return f"{stat.st_mtime_ns:x}-{stat.st_size:x}"


def _scanned_file(blob: BlobInfo, path: Path, where: str) -> Download:
    """Hash and scan a local file piece by piece: a plain file is handed over by path, any
    other (quotes, stray carriage returns, a byte-order mark) as bytes for the exact parser."""
    md5 = hashlib.md5(usedforsecurity=False)
    buffer = bytearray(CHUNK_BYTES)
    view = memoryview(buffer)
    size = newlines = crs = crlfs = 0
    plain, last = True, b""
    with path.open("rb", buffering=0) as handle:
        while n := handle.readinto(buffer):
            md5.update(view[:n])
            if size == 0 and buffer.startswith(BOM):
                plain = False
            newlines += buffer.count(b"\n", 0, n)
            if buffer.find(b"\r", 0, n) >= 0:
                crs += buffer.count(b"\r", 0, n)
                crlfs += buffer.count(b"\r\n", 0, n)
            crlfs += last == b"\r" and buffer[0] == 10
            plain = plain and buffer.find(b'"', 0, n) < 0
            last = bytes(buffer[n - 1 : n])
            size += n
    if not plain or crs != crlfs:
        return _checked(blob, path.read_bytes(), where)
    if size != blob.size:
        raise IngestError(
            f"blob {blob.name} in {where}: read {size} bytes, listed {blob.size}; "
            "it changed during the run, rerun the ingest"
        )
    lines = newlines + (0 if size == 0 or last == b"\n" else 1)
    return Download(blob, None, md5.hexdigest(), lines, path)


class LocalSource:
    """A folder laid out like the container (`<root>/<blob name>`); etag = mtime + size."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise IngestError(
                f"source folder {root} does not exist; set TAMALES_SOURCE_DIR to a folder "
                "laid out like the container"
            )
        self.root = root
        self.description = f"folder {root}"
        self.downloads = 0
        self._lock = threading.Lock()

    def list_blobs(self, prefix: str) -> Iterator[BlobInfo]:
        """Files under `<root>/<prefix>`, recursively, sorted by name."""
        base = self.root / prefix
        if not base.is_dir():
            return
        found: list[BlobInfo] = []
        for folder, dirs, files in os.walk(base):
            dirs.sort()
            for filename in files:
                path = Path(folder, filename)
                name = path.relative_to(self.root).as_posix()
                found.append(BlobInfo(name, _file_etag(path), path.stat().st_size))
        yield from sorted(found, key=lambda blob: blob.name)

    def download(self, blob: BlobInfo) -> Download:
        """The file, hashed and scanned (its bytes read only when it is not plain)."""
        download = _scanned_file(blob, self.root / blob.name, self.description)
        with self._lock:
            self.downloads += 1
        return download

    def close(self) -> None:
        """Nothing to release."""


def _sas_expiry(url: str) -> datetime | None:
    """The `se=` expiry of a SAS URL, if it has a parseable one."""
    values = parse_qs(urlsplit(url).query).get("se")
    if not values:
        return None
    try:
        expiry = datetime.fromisoformat(values[0].replace("Z", "+00:00"))
    except ValueError:
        return None
    return expiry if expiry.tzinfo else expiry.replace(tzinfo=UTC)


class AzureSource:
    """An Azure Blob Storage container (or Azurite), read with the SDK's exponential retry."""

    def __init__(self, client: object, description: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._client = client
        self.description = description
        self.timeout = timeout
        self.downloads = 0
        self._lock = threading.Lock()

    @classmethod
    def from_url(
        cls, url: str, *, timeout: float = DEFAULT_TIMEOUT, **client_options: object
    ) -> AzureSource:
        """Open a container by its URL (normally with a read+list SAS token)."""
        from azure.storage.blob import ContainerClient

        parts = urlsplit(url)
        description = redact_url(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path in ("", "/"):
            raise IngestError(
                f"TAMALES_BLOB_URL {description!r} is not a container URL; expected "
                "https://<account>.blob.core.windows.net/<container>?<SAS token>"
            )
        expiry = _sas_expiry(url)
        if expiry is not None and expiry <= datetime.now(UTC):
            raise IngestError(
                f"the SAS token for {description} expired at {expiry:%Y-%m-%dT%H:%M:%SZ}; "
                "set TAMALES_BLOB_URL to a fresh container SAS URL with read+list (sp=rl)"
            )
        try:
            client = ContainerClient.from_container_url(
                url, **_client_options(client_options, timeout)
            )
        except ValueError as exc:
            raise IngestError(f"TAMALES_BLOB_URL {description!r} is invalid: {exc}") from None
        return cls(client, description, timeout)

    @classmethod
    def from_connection_string(
        cls,
        connection_string: str,
        container: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        **client_options: object,
    ) -> AzureSource:
        """Open a container with an account connection string."""
        from azure.storage.blob import ContainerClient

        try:
            client = ContainerClient.from_connection_string(
                connection_string,
                container_name=container,
                **_client_options(client_options, timeout),
            )
        except ValueError as exc:
            raise IngestError(
                f"AZURE_STORAGE_CONNECTION_STRING is invalid ({redact(str(exc))}); "
                "expected DefaultEndpointsProtocol=...;AccountName=...;AccountKey=...;"
            ) from None
        return cls(client, redact_url(client.url), timeout)

    def list_blobs(self, prefix: str) -> Iterator[BlobInfo]:
        """Every blob under `prefix`, following all result pages."""
        try:
            pages = self._client.list_blobs(  # type: ignore[attr-defined]
                name_starts_with=prefix, results_per_page=LIST_PAGE_SIZE
            )
            for props in pages:
                md5 = props.content_settings.content_md5 if props.content_settings else None
                yield BlobInfo(
                    name=props.name,
                    etag=str(props.etag).strip('"'),
                    size=int(props.size),
                    content_md5=bytes(md5).hex() if md5 else None,
                )
        except Exception as exc:  # noqa: BLE001 - every SDK failure becomes one clear line
            raise azure_error(
                exc, f"cannot list {self.description}/{prefix}", self.timeout
            ) from None

    def download(self, blob: BlobInfo) -> Download:
        """The blob's bytes, as listed (fails if the blob changed since it was listed)."""
        from azure.core import MatchConditions

        try:
            stream = self._client.download_blob(  # type: ignore[attr-defined]
                blob.name,
                etag=f'"{blob.etag}"',
                match_condition=MatchConditions.IfNotModified,
                max_concurrency=2,
            )
            data = stream.readall()
        except Exception as exc:  # noqa: BLE001
            raise azure_error(
                exc, f"cannot download {blob.name} from {self.description}", self.timeout
            ) from None
        with self._lock:
            self.downloads += 1
        return _checked(blob, data, self.description)

    def close(self) -> None:
        """Close the HTTP pipeline."""
        self._client.close()  # type: ignore[attr-defined]


def _client_options(options: dict[str, object], timeout: float) -> dict[str, object]:
    """The SDK's exponential retry (3 retries) and connect/read timeouts of `timeout` seconds."""
    from azure.storage.blob import ExponentialRetry

    defaults: dict[str, object] = {
        "retry_policy": ExponentialRetry(
            initial_backoff=1, increment_base=2, retry_total=RETRIES, random_jitter_range=1
        ),
        "connection_timeout": timeout,
        "read_timeout": timeout,
    }
    return defaults | options
