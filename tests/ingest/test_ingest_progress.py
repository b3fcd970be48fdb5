"""Progress: a bar redrawn in place on a terminal, nothing of it in logs and pipes."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_ingest_cli(env: dict[str, str], *args: str, terminal: bool) -> tuple[int, str, str]:
    """`python -m ingest` with stderr on a pseudo-terminal (or a pipe): code, stdout, stderr."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TAMALES_", "AZURE_"))}
    if not terminal:
        done = subprocess.run(
            [sys.executable, "-m", "ingest", *args],
            cwd=REPO_ROOT,
            env=clean | env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return done.returncode, done.stdout, done.stderr
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "ingest", *args],
        cwd=REPO_ROOT,
        env=clean | env,
        stdout=subprocess.PIPE,
        stderr=slave,
        text=True,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    out, _ = process.communicate(timeout=120)
    return process.returncode, out, b"".join(chunks).decode("utf-8")


def test_a_terminal_gets_a_bar_of_the_blobs_landed(sample_container: Path, tmp_path: Path) -> None:
    env = {"TAMALES_HOME": str(tmp_path / "home"), "TAMALES_SOURCE_DIR": str(sample_container)}
    code, out, err = run_ingest_cli(env, terminal=True)
    assert code == 0, err
    frames = err.replace("\r\n", "\n").split("\r\x1b[K")[1:]
    assert frames, err
    assert all(frame.startswith("ingest: [") for frame in frames)
    assert frames[-1].startswith("ingest: [" + "#" * 24 + "] 40/40 blobs, ")  # every data blob
    assert frames[-1].endswith(" s\n")  # the bar ends its line
    assert out.splitlines()[-1].startswith("ingest: 8 tables (8 landed, 0 unchanged)")


def test_logs_and_quiet_runs_get_no_bar(sample_container: Path, tmp_path: Path) -> None:
    env = {"TAMALES_HOME": str(tmp_path / "home"), "TAMALES_SOURCE_DIR": str(sample_container)}
    code, out, err = run_ingest_cli(env, terminal=False)
    assert code == 0 and "\r" not in err and "[###" not in err
    assert out.splitlines()[-1].startswith("ingest: 8 tables (8 landed, 0 unchanged)")
    code, _, err = run_ingest_cli(env, "--quiet", terminal=True)
    assert code == 0 and err == ""
