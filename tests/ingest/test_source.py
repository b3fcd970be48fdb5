"""Unit tests for source configuration, secret redaction and unreachable services."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ingest.errors import IngestError, redact, redact_url
from ingest.source import AzureSource, LocalSource, open_source
from tamales_inc.core.settings import Settings

SAS = (
    "sv=2020-04-08&st=2021-03-23T18%3A47%3A00Z&se=2099-03-23T18%3A47%3A00Z&sr=c&sp=rl"
    "&sig=abc%2Bdef%3D"
)


def test_redact_removes_signatures_and_account_keys() -> None:
    text = f"GET https://a.blob.core.windows.net/c?{SAS} failed; AccountKey=xyz==;BlobEndpoint=q"
    cleaned = redact(text)
    assert "abc%2Bdef" not in cleaned and "xyz==" not in cleaned
    assert "sig=REDACTED" in cleaned and "AccountKey=REDACTED" in cleaned
    assert redact_url(f"https://a.blob.core.windows.net/tamales-inc/?{SAS}") == (
        "https://a.blob.core.windows.net/tamales-inc"
    )
    assert str(IngestError(f"boom\n  at https://x/c?{SAS}")) == (
        f"boom at https://x/c?{SAS.replace('abc%2Bdef%3D', 'REDACTED')}"
    )


def test_expired_sas_is_refused_before_any_request() -> None:
    url = (
        "https://acct.blob.core.windows.net/tamales-inc"
        "?sv=2020-04-08&se=2022-03-23T18%3A47%3A00Z&sr=c&sp=rl&sig=s3cr3t"
    )
    with pytest.raises(IngestError) as caught:
        AzureSource.from_url(url)
    message = str(caught.value)
    assert message == (
        "the SAS token for https://acct.blob.core.windows.net/tamales-inc expired at "
        "2022-03-23T18:47:00Z; set TAMALES_BLOB_URL to a fresh container SAS URL with read+list "
        "(sp=rl)"
    )


def test_unreachable_service_fails_with_one_line_and_no_token() -> None:
    from azure.storage.blob import ExponentialRetry

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    url = f"http://127.0.0.1:{port}/devstoreaccount1/tamales-inc?{SAS}"
    source = AzureSource.from_url(
        url, retry_policy=ExponentialRetry(initial_backoff=0, increment_base=1, retry_total=1)
    )
    with pytest.raises(IngestError, match="cannot reach the storage service") as caught:
        list(source.list_blobs("tamales_inc/"))
    message = str(caught.value)
    assert "abc%2Bdef" not in message and "abc+def" not in message and "\n" not in message
    assert message.startswith(f"cannot list http://127.0.0.1:{port}/devstoreaccount1/tamales-inc/")


def test_source_precedence(tmp_path: Path) -> None:
    def settings(**env: str) -> Settings:
        return Settings.from_env({"TAMALES_HOME": str(tmp_path), **env})

    both = settings(
        TAMALES_BLOB_URL=f"https://acct.blob.core.windows.net/c?{SAS}",
        TAMALES_SOURCE_DIR=str(tmp_path),
    )
    source = open_source(both)
    assert isinstance(source, AzureSource)
    assert source.description == "https://acct.blob.core.windows.net/c"
    source.close()
    assert isinstance(open_source(settings(TAMALES_SOURCE_DIR=str(tmp_path))), LocalSource)
    with pytest.raises(IngestError, match="AZURE_STORAGE_CONNECTION_STRING is not set"):
        open_source(settings(TAMALES_CONTAINER="tamales-inc"))


def test_a_plain_local_file_is_handed_over_by_path_with_its_checksum_and_lines(
    tmp_path: Path,
) -> None:
    import hashlib

    root = tmp_path / "container"
    (root / "src").mkdir(parents=True)
    plain = b"1,a\r\n2,b\r\n3,c"  # CRLF line ends and no final newline
    files = {"plain.csv": plain, "quoted.csv": b'1,"a"\n', "bom.csv": b"\xef\xbb\xbf1,a\n2,b\n"}
    for name, data in files.items():
        (root / "src" / name).write_bytes(data)
    source = LocalSource(root)
    downloads = {blob.name: source.download(blob) for blob in source.list_blobs("src/")}
    plain_download = downloads["src/plain.csv"]
    assert plain_download.data is None and plain_download.path == root / "src/plain.csv"
    assert plain_download.lines == 3
    assert plain_download.md5 == hashlib.md5(plain).hexdigest()
    assert downloads["src/quoted.csv"].data == b'1,"a"\n'
    assert downloads["src/bom.csv"].lines == 2 and downloads["src/bom.csv"].path is None
    plain_download.check_unchanged()
    (root / "src/plain.csv").write_bytes(plain + b"\n4,d")
    with pytest.raises(IngestError, match="changed while it was landed"):
        plain_download.check_unchanged()
