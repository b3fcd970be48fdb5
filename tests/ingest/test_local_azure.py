"""Local Azure in one command: `just azurite`, `just sample-upload`, `just sas`, `.env.example`,
and the hint when the emulator runs without the flag the SDK needs."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from ingest_helpers import (
    free_port,
    minimal_files,
    upload_folder,
    wait_until_listening,
    write_container,
)

from ingest.azurite import AZURITE_BIN, connection_string
from ingest.pipeline import run_ingest
from ingest.sas import main as sas_main
from tamales_inc.core.settings import Settings

pytestmark = pytest.mark.azurite
REPO_ROOT = Path(__file__).resolve().parents[2]
JUST = Path(sys.executable).with_name("just")


def clean_env(**env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TAMALES_", "AZURE_"))}
    base["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}"
    return base | env


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_just_azurite_starts_the_emulator_prints_its_connection_string_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    port = free_port()
    home = tmp_path / "home"
    process = subprocess.Popen(
        [str(JUST), "azurite", "--port", str(port)],
        cwd=REPO_ROOT,
        env=clean_env(TAMALES_HOME=str(home)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line == f"AZURE_STORAGE_CONNECTION_STRING={connection_string(port)}\n"
        container = "tamales-inc"
        upload_folder(
            connection_string(port), container, write_container(tmp_path / "c", minimal_files())
        )
        report = run_ingest(
            Settings.from_env(
                {
                    "TAMALES_HOME": str(home),
                    "AZURE_STORAGE_CONNECTION_STRING": connection_string(port),
                    "TAMALES_CONTAINER": container,
                }
            )
        )
        assert len(report.landed) == 4
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
        sent = time.monotonic()
        _, err = process.communicate(timeout=30)
        assert time.monotonic() - sent < 15
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    # the emulator's command stops it and exits 0; just itself reports any Ctrl-C'd recipe
    # as interrupted (130)
    assert process.returncode == 130, err
    assert f"azurite: blob service on http://127.0.0.1:{port}/devstoreaccount1" in err
    assert err.endswith("azurite: stopped\nerror: interrupted by SIGINT\n")
    assert not listening(port)  # the emulator is gone with it
    assert (home / "azurite" / "azurite.log").is_file()
    assert any((home / "azurite").glob("__blobstorage__*"))


def test_just_azurite_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "ingest.azurite", "--port", str(port)],
            cwd=REPO_ROOT,
            env=clean_env(TAMALES_HOME=str(tmp_path)),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr == (
        f"azurite: error: 127.0.0.1:{port} is already in use (another Azurite?); stop it or "
        "pass --port\n"
    )


def test_sample_upload_then_sas_then_ingest(
    azurite: str, container_name: str, tmp_path: Path
) -> None:
    env = clean_env(AZURE_STORAGE_CONNECTION_STRING=azurite, TAMALES_CONTAINER=container_name)
    upload = subprocess.run(
        [str(JUST), "sample-upload"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert upload.returncode == 0, upload.stderr
    assert f"uploaded 46 blobs to {container_name}" in upload.stdout
    sas = subprocess.run(
        [str(JUST), "sas", container_name, "--hours", "2"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sas.returncode == 0, sas.stderr
    url = sas.stdout.strip()
    assert url.startswith(f"{azurite.split('BlobEndpoint=')[1].rstrip(';')}/{container_name}?")
    query = parse_qs(urlsplit(url).query)
    assert query["sp"] == ["rl"] and query["sr"] == ["c"]
    expiry = datetime.fromisoformat(query["se"][0].replace("Z", "+00:00"))
    assert abs(expiry - (datetime.now(UTC) + timedelta(hours=2))) < timedelta(minutes=2)
    assert "sig=" not in sas.stderr
    report = run_ingest(
        Settings.from_env({"TAMALES_HOME": str(tmp_path / "home"), "TAMALES_BLOB_URL": url})
    )
    assert len(report.landed) == 8 and report.rows_quarantined == 0


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        (["tamales-inc"], {}, 1, "AZURE_STORAGE_CONNECTION_STRING is not set; copy .env.example"),
        (
            ["tamales-inc"],
            {
                "AZURE_STORAGE_CONNECTION_STRING": "BlobEndpoint=http://127.0.0.1:1/a;SharedAccessSignature=sv=1&sig=s3cr3t"
            },
            1,
            "AZURE_STORAGE_CONNECTION_STRING has no AccountKey",
        ),
        (["Tamales_Inc"], {}, 2, "container 'Tamales_Inc': 3-63 lowercase letters"),
        (["tamales-inc", "--hours", "0"], {}, 2, "--hours 0: expected more than 0"),
    ],
)
def test_sas_errors_are_one_line(
    args: list[str],
    env: dict[str, str],
    code: int,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    for key in list(os.environ):
        if key.startswith(("TAMALES_", "AZURE_")):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    assert sas_main(args) == code
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1
    assert err.startswith("sas: error: ") and message in err and "s3cr3t" not in err


def test_env_example_configures_the_emulator_started_by_just_azurite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(REPO_ROOT / ".env.example", tmp_path / ".env")
    for key in list(os.environ):
        if key.startswith(("TAMALES_", "AZURE_")):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env()  # the process environment plus ./.env
    assert settings.connection_string == connection_string(10000)
    assert settings.container == "tamales-inc"
    assert settings.blob_url is None and settings.source_dir is None


def test_an_emulator_without_skip_api_version_check_gives_the_hint(tmp_path: Path) -> None:
    port = free_port()
    log = open(tmp_path / "azurite.log", "wb")  # closed below
    strict = subprocess.Popen(
        [str(AZURITE_BIN), "--blobHost", "127.0.0.1", "--blobPort", str(port),
         "--location", str(tmp_path / "data"), "--silent"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_until_listening(port, strict, timeout=30)
        result = subprocess.run(
            [sys.executable, "-m", "ingest"],
            cwd=REPO_ROOT,
            env=clean_env(
                TAMALES_HOME=str(tmp_path / "home"),
                AZURE_STORAGE_CONNECTION_STRING=connection_string(port),
                TAMALES_CONTAINER="tamales-inc",
            ),
            capture_output=True,
            text=True,
            timeout=120,
        )
        upload = subprocess.run(
            [sys.executable, "-m", "ingest.sample", "--connection-string",
             connection_string(port), "--container", "tamales-inc"],
            cwd=REPO_ROOT,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )  # fmt: skip
    finally:
        os.kill(strict.pid, signal.SIGTERM)
        try:
            strict.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(strict.pid, signal.SIGKILL)
            strict.wait(timeout=10)
        log.close()
    assert result.returncode == 1
    assert result.stderr == (
        f"ingest: error: cannot list http://127.0.0.1:{port}/devstoreaccount1/tamales-inc/"
        "tamales_inc/: HTTP 400 InvalidHeaderValue: the service does not support this SDK's API "
        "version; Azurite needs --skipApiVersionCheck (`just azurite` starts it so)\n"
    )
    assert upload.returncode == 1 and len(upload.stderr.splitlines()) == 1
    assert upload.stderr.startswith("sample: error: upload failed: HttpResponseError: ")
    assert upload.stderr.endswith(
        "(the service does not support this SDK's API version; Azurite needs "
        "--skipApiVersionCheck (`just azurite` starts it so))\n"
    )


def test_the_emulator_command_stops_on_sigterm_and_exits_zero(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ingest.azurite", "--port", str(port), "--location", str(tmp_path)],
        cwd=REPO_ROOT,
        env=clean_env(TAMALES_HOME=str(tmp_path / "home")),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("AZURE_STORAGE_CONNECTION_STRING=")
        assert listening(port)
        process.terminate()
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == 0, err
    assert err.endswith("azurite: stopped\n") and not listening(port)
    assert (tmp_path / "azurite.log").is_file() and not (tmp_path / "home").exists()
