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

from ingest.errors import IngestError, redact, redact_url
from tamales_inc.core.settings import Settings

LIST_PAGE_SIZE = 5000


@dataclass(frozen=True)
class BlobInfo:
    """A listed blob: its name, change token (etag), size and service MD5 (hex) if any."""

    name: str
    etag: str
    size: int
    content_md5: str | None = None


@dataclass(frozen=True)
class Download:
    """A downloaded blob's bytes and MD5 (hex), checked against the service's when it has one."""

    blob: BlobInfo
    data: bytes
    md5: str


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
        return AzureSource.from_url(settings.blob_url)
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
        return AzureSource.from_connection_string(settings.connection_string, settings.container)
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
    return Download(blob, data, md5)


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
                stat = path.stat()
                name = path.relative_to(self.root).as_posix()
                found.append(BlobInfo(name, f"{stat.st_mtime_ns:x}-{stat.st_size:x}", stat.st_size))
        yield from sorted(found, key=lambda blob: blob.name)

    def download(self, blob: BlobInfo) -> Download:
        """The file's bytes."""
        data = (self.root / blob.name).read_bytes()
        with self._lock:
            self.downloads += 1
        return _checked(blob, data, self.description)

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

    def __init__(self, client: object, description: str) -> None:
        self._client = client
        self.description = description
        self.downloads = 0
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **client_options: object) -> AzureSource:
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
            client = ContainerClient.from_container_url(url, **_client_options(client_options))
        except ValueError as exc:
            raise IngestError(f"TAMALES_BLOB_URL {description!r} is invalid: {exc}") from None
        return cls(client, description)

    @classmethod
    def from_connection_string(
        cls, connection_string: str, container: str, **client_options: object
    ) -> AzureSource:
        """Open a container with an account connection string."""
        from azure.storage.blob import ContainerClient

        try:
            client = ContainerClient.from_connection_string(
                connection_string, container_name=container, **_client_options(client_options)
            )
        except ValueError as exc:
            raise IngestError(
                f"AZURE_STORAGE_CONNECTION_STRING is invalid ({redact(str(exc))}); "
                "expected DefaultEndpointsProtocol=...;AccountName=...;AccountKey=...;"
            ) from None
        return cls(client, redact_url(client.url))

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
            raise _azure_error(exc, f"cannot list {self.description}/{prefix}") from None

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
            raise _azure_error(
                exc, f"cannot download {blob.name} from {self.description}"
            ) from None
        with self._lock:
            self.downloads += 1
        return _checked(blob, data, self.description)

    def close(self) -> None:
        """Close the HTTP pipeline."""
        self._client.close()  # type: ignore[attr-defined]


def _client_options(options: dict[str, object]) -> dict[str, object]:
    from azure.storage.blob import ExponentialRetry

    defaults: dict[str, object] = {
        "retry_policy": ExponentialRetry(
            initial_backoff=1, increment_base=2, retry_total=3, random_jitter_range=1
        ),
        "connection_timeout": 10,
        "read_timeout": 120,
    }
    return defaults | options


def _azure_error(exc: Exception, what: str) -> IngestError:
    """One actionable line for an SDK failure (never the token)."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceModifiedError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    status = getattr(exc, "status_code", None)
    code = getattr(exc, "error_code", None) or getattr(
        getattr(exc, "response", None), "reason", None
    )
    if isinstance(exc, ClientAuthenticationError) or status in (401, 403):
        return IngestError(
            f"{what}: access denied (HTTP {status} {code}); the SAS token or account key is "
            "expired, invalid or lacks read+list permission; set TAMALES_BLOB_URL to a fresh "
            "container SAS URL (sp=rl) or fix AZURE_STORAGE_CONNECTION_STRING"
        )
    if isinstance(exc, ResourceModifiedError) or status == 412:
        return IngestError(
            f"{what}: the blob changed while it was being ingested; rerun the ingest"
        )
    if isinstance(exc, ResourceNotFoundError) or status == 404:
        return IngestError(
            f"{what}: not found (HTTP 404 {code}); check the container name in "
            "TAMALES_BLOB_URL or TAMALES_CONTAINER"
        )
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return IngestError(
            f"{what}: cannot reach the storage service after retries ({_first_line(exc)}); "
            "check the URL and the network"
        )
    if isinstance(exc, HttpResponseError):
        return IngestError(f"{what}: HTTP {status} {code}")
    if isinstance(exc, IngestError):
        return exc
    return IngestError(f"{what}: {type(exc).__name__}: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__
