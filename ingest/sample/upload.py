"""Upload a sample container folder to an Azure (or Azurite) blob container."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)
LARGE_BLOB_BYTES = 50_000_000  # each upload of a blob this large is logged


def upload(
    local_dir: Path,
    *,
    connection_string: str | None = None,
    container: str | None = None,
    blob_url: str | None = None,
) -> int:
    """Upload every file under `local_dir` (blob name = relative posix path); returns the count.

    Give either `connection_string` + `container` (the container is created if missing) or a
    container SAS `blob_url` (needs write permission).
    """
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import ContainerClient, ContentSettings

    local_dir = Path(local_dir)
    if not local_dir.is_dir():
        raise FileNotFoundError(f"{local_dir}: not a directory")
    if blob_url:
        if connection_string or container:
            raise ValueError("upload: give either blob_url or connection_string + container")
        client = ContainerClient.from_container_url(blob_url)
    elif connection_string and container:
        client = ContainerClient.from_connection_string(connection_string, container)
        try:
            client.create_container()
        except ResourceExistsError:
            pass
    else:
        raise ValueError("upload: give blob_url, or connection_string and container")
    files = sorted(p for p in local_dir.rglob("*") if p.is_file())
    with client:
        for i, path in enumerate(files, 1):
            name = path.relative_to(local_dir).as_posix()
            settings = ContentSettings(
                content_type="text/csv; charset=utf-8" if path.suffix == ".csv" else None
            )
            with path.open("rb") as fh:
                client.upload_blob(
                    name, fh, overwrite=True, content_settings=settings, max_concurrency=2
                )
            if path.stat().st_size > LARGE_BLOB_BYTES or i == len(files):
                log.info("uploaded %d/%d blobs (%s)", i, len(files), name)
    return len(files)
