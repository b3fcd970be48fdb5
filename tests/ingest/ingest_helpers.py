"""Helpers for the ingest tests: Azurite account, SAS URLs, uploads and small containers."""

from __future__ import annotations

import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Azurite's well-known development account, re-exported for the tests
from ingest.azurite import ACCOUNT as ACCOUNT
from ingest.azurite import ACCOUNT_KEY as ACCOUNT_KEY

# A well-formed line per table, used to build small hand-written containers.
TAMALES_LINE = "2019,Jan,Mexico,Regular,Dulce,Centro,206050084,Tamal mix,1234.5"
TAMALES_DIR = "tamales_inc/ventas_mensuales_tamales_inc/mx"
TEINVENTO_DIR = "teinvento_inc/ventas_reportadas_mercado_tamales/mx"


def account_url(connection_string: str) -> str:
    """The BlobEndpoint of a connection string."""
    parts = dict(p.split("=", 1) for p in connection_string.split(";") if "=" in p)
    return parts["BlobEndpoint"].rstrip("/")


def container_sas_url(
    connection_string: str,
    container: str,
    *,
    expiry: datetime | None = None,
    read: bool = True,
    list_: bool = True,
) -> str:
    """A container SAS URL (default: read+list, valid for an hour) signed with the dev key."""
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    token = generate_container_sas(
        account_name=ACCOUNT,
        container_name=container,
        account_key=ACCOUNT_KEY,
        permission=ContainerSasPermissions(read=read, list=list_),
        start=datetime.now(UTC) - timedelta(hours=2),
        expiry=expiry or datetime.now(UTC) + timedelta(hours=1),
    )
    return f"{account_url(connection_string)}/{container}?{token}"


def upload_folder(connection_string: str, container: str, folder: Path | None) -> None:
    """Create `container` and upload every file under `folder` (blob name = relative path)."""
    from azure.storage.blob import ContainerClient

    with ContainerClient.from_connection_string(connection_string, container) as client:
        client.create_container()
        if folder is None:
            return
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            client.upload_blob(path.relative_to(folder).as_posix(), path.read_bytes())


def put_blob(connection_string: str, container: str, name: str, data: bytes) -> None:
    """Create or overwrite one blob."""
    from azure.storage.blob import ContainerClient

    with ContainerClient.from_connection_string(connection_string, container) as client:
        client.upload_blob(name, data, overwrite=True)


def write_container(root: Path, files: dict[str, str | bytes]) -> Path:
    """A local folder laid out like the container: `{blob name: content}`."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return root


def minimal_files(version: str = "20200801", tamales_lines: int = 3) -> dict[str, str | bytes]:
    """A small valid container version: every table, an empty part and `_SUCCESS` markers."""
    teinvento = f"{TEINVENTO_DIR}/{version}"
    return {
        f"{TAMALES_DIR}/{version}/csv/Centro/ventas.csv": "".join(
            f"{TAMALES_LINE}\n" for _ in range(tamales_lines)
        ),
        f"{TAMALES_DIR}/{version}/csv/E._Privados/ventas.csv": (
            "2020,Aug,Mexico,Low-Calorie,Cajeta,E. Privados,ABYT055818,Atole mix,-5.86e-14\n"
        ),
        f"{teinvento}/fact_table/part-00000-a-c000.csv": (
            "2020,Aug,8600000.5,446676598784,85899345920\n2020,Jul,,446676598784,85899345920\n"
        ),
        f"{teinvento}/fact_table/part-00001-a-c000.csv": b"",
        f"{teinvento}/fact_table/_SUCCESS": b"",
        f"{teinvento}/product_dim/part-00000-b-c000.csv": (
            "85899345920,Regular,Tamal mix Dulce,Tamal mix,Tamales Inc\n"
            "1194000908288,Light,Tameles doña chona -Piña,Tamales doña chona,OTROS FABRICANTES\n"
            "807453851648,Regular,,,OTROS FABRICANTES\n"
        ),
        f"{teinvento}/product_dim/_SUCCESS": b"",
        f"{teinvento}/region_dim/part-00000-c-c000.csv": (
            "446676598784,Mexico,Norte\n996432412672,Mexico,\n"
        ),
        f"{teinvento}/region_dim/_SUCCESS": b"",
    }


def sync_container(connection_string: str, container: str, folder: Path) -> None:
    """Make the container hold exactly the files under `folder`: upload the new and changed
    blobs (etags change only for those), delete the blobs gone."""
    import hashlib

    from azure.storage.blob import ContainerClient

    wanted = {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }
    with ContainerClient.from_connection_string(connection_string, container) as client:
        present = {
            props.name: bytes(props.content_settings.content_md5 or b"")
            for props in client.list_blobs()
        }
        for name in sorted(set(present) - set(wanted)):
            client.delete_blob(name)
        for name, data in sorted(wanted.items()):
            if present.get(name) != hashlib.md5(data, usedforsecurity=False).digest():
                client.upload_blob(name, data, overwrite=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_listening(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait until something listens on 127.0.0.1:`port`; fail if `process` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"azurite-blob exited early with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"azurite-blob did not listen on 127.0.0.1:{port} within {timeout:.0f} s")
