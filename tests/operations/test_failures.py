"""Operational failures end the transform and the training in one line that says what to do: a
full disk (a small tmpfs), a read-only home (a read-only bind mount), no permission, and paths
with an apostrophe reach SQL quoted. Mounts are made in a private user and mount namespace
(`unshare -rm`); where the kernel does not allow one, those tests are skipped."""

from __future__ import annotations

import errno
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from tamales_inc.core.cli import describe, is_explained
from tamales_inc.core.errors import os_advice
from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.cli import main as train_main
from tamales_inc.warehouse.dbt import DbtOutcome
from tamales_inc.warehouse.transform import main as transform_main
from tests.conftest import REPO_ROOT, copy_home, query_warehouse, run_module

FULL = "no space left on the device; free some space (`just gc --apply`) and rerun"
READ_ONLY = "the file system is read-only; set TAMALES_HOME to a writable folder"
DENIED = "permission denied; set TAMALES_HOME to a folder you can write, or fix its owner"


def _namespaces_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=30)
    return probe.returncode == 0


needs_mounts = pytest.mark.skipif(
    not _namespaces_work(), reason="cannot create a user+mount namespace here (unshare -rm)"
)


def _mounted(mount: str, module: str, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Run `mount` (shell) then `python -m module args` in a private mount namespace; the
    command's exit code and whatever is left in the staged-build folder are printed after it."""
    command = " ".join(shlex.quote(a) for a in (sys.executable, "-m", module, *args))
    staged = shlex.quote(str(home / "warehouse" / ".build"))
    script = f'{mount} || exit 99; {command}; echo "rc=$?"; ls -A {staged} 2>/dev/null; true'
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        cwd=REPO_ROOT,
        env={"TAMALES_HOME": str(home), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _tmpfs(size: str, home: Path, source: Settings, *parts: str) -> str:
    copies = " ".join(shlex.quote(str(source.home / part)) for part in parts)
    target = shlex.quote(str(home))
    return f"mount -t tmpfs -o size={size} tmpfs {target} && cp -a {copies} {target}/"


@needs_mounts
def test_a_full_disk_inside_dbt_is_one_line(landed_settings: Settings, tmp_path: Path) -> None:
    home = tmp_path / "full"
    home.mkdir()
    mount = _tmpfs("2m", home, landed_settings, "raw", "manifests")
    done = _mounted(mount, "tamales_inc.warehouse.transform", "--no-export", home=home)
    assert done.stdout.splitlines() == ["rc=1"], done.stdout  # nothing staged is left
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith("transform: error: dbt build failed"), done
    assert "No space left on device" in errors[0] and errors[0].endswith(FULL)
    assert "Traceback" not in done.stderr + done.stdout


@needs_mounts
def test_a_full_disk_fails_training_before_it_starts(
    trained_settings: Settings, tmp_path: Path
) -> None:
    home = tmp_path / "full"
    home.mkdir()
    size = trained_settings.warehouse_path.stat().st_size
    mount = _tmpfs(f"{size * 3 // 2 // 1024}k", home, trained_settings, "warehouse", "models")
    done = _mounted(mount, "tamales_inc.forecasting", "--force", "--no-report", home=home)
    assert done.stdout.splitlines() == ["rc=1"], done
    (line,) = done.stderr.splitlines()
    assert line.startswith("train: error: a copy of the warehouse needs about ")
    assert f"MB in {home}/warehouse, " in line and line.endswith(FULL)


@needs_mounts
def test_a_read_only_home_is_one_line_and_training_fails_before_its_backtest(
    trained_settings: Settings, tmp_path: Path
) -> None:
    settings = copy_home(trained_settings, tmp_path / "home")
    home = shlex.quote(str(settings.home))
    mount = f"mount --bind {home} {home} && mount -o remount,bind,ro {home}"
    train = _mounted(mount, "tamales_inc.forecasting", "--force", "--no-report", home=settings.home)
    assert train.stdout.splitlines() == ["rc=1"]
    assert train.stderr.splitlines() == [
        f"train: error: Read-only file system ({settings.models_dir}): {READ_ONLY}"
    ]
    transform = _mounted(mount, "tamales_inc.warehouse.transform", "--force", home=settings.home)
    assert transform.stdout.splitlines() == ["rc=1"]
    assert transform.stderr.splitlines()[-1] == (
        f"transform: error: Read-only file system ({settings.warehouse_dir}): {READ_ONLY}"
    )
    # reading still works: with nothing changed, the transform says so and exits 0
    noop = _mounted(mount, "tamales_inc.warehouse.transform", home=settings.home)
    assert noop.stdout.splitlines()[0].startswith("transform: up to date (data version 20200901")
    assert noop.stdout.splitlines()[1] == "rc=0"


@contextmanager
def _unprivileged() -> Iterator[None]:
    """Run the block with an unprivileged effective uid (root's permission checks bypass mode
    bits, and this machine's interpreter lives where another user cannot run it)."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def test_no_permission_is_one_line(
    trained_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import dbt.version  # noqa: F401  (imported while the interpreter's files are readable)

    root = Path(tempfile.mkdtemp(prefix="tamales-denied-", dir="/tmp"))
    try:
        settings = copy_home(trained_settings, root / "home")
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
            if os.geteuid() != 0 and path.is_dir() and path != root:
                path.chmod(0o555)  # another user's home, as far as this one can tell
        monkeypatch.setenv("TAMALES_HOME", str(settings.home))
        with _unprivileged():
            train = train_main(["--force", "--no-report"])
            transform = transform_main(["--force"])
        err = capsys.readouterr().err.splitlines()
        assert train == 1 and transform == 1
        assert err[0] == f"train: error: Permission denied ({settings.models_dir}): {DENIED}"
        assert err[-1] == (
            f"transform: error: Permission denied ({settings.warehouse_dir}): {DENIED}"
        )
        assert len(err) == 2
    finally:
        for path in [root, *root.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(root)


def test_os_errors_wrapped_by_libraries_get_the_same_advice() -> None:
    for code, advice in ((errno.ENOSPC, FULL), (errno.EROFS, READ_ONLY), (errno.EACCES, DENIED)):
        assert os_advice(code) == advice
        raised = OSError(code, os.strerror(code), "/home/x/warehouse")
        assert describe(raised) == f"{os.strerror(code)} (/home/x/warehouse): {advice}"
        wrapped = duckdb.IOException(
            f'IO Error: Could not write file "/home/x/w.duckdb": {os.strerror(code)}\nmore'
        )
        expected = f'IO Error: Could not write file "/home/x/w.duckdb": {os.strerror(code)}'
        assert describe(wrapped) == f"{expected}: {advice}"
        assert is_explained(wrapped)
        outcome = DbtOutcome(False, {}, [], f"[Errno {code}] {os.strerror(code)}")
        assert outcome.failure_summary().endswith(f": {advice}")
    assert not is_explained(ValueError("a bug"))


def test_a_home_with_an_apostrophe_builds_and_answers_sql(
    older_build: tuple[Settings, subprocess.CompletedProcess[str]],
) -> None:
    settings, built = older_build
    assert "'" in str(settings.home)
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("transform: data_version 20200801, ")
    assert query_warehouse(settings, "select data_version from meta.build_info").rows() == [
        ("20200801",)
    ]
    exported = settings.processed_path("warehouse", "20200801", "fct_sales")
    assert exported.is_file()
    sql = run_module(
        "tamales_inc.warehouse.sql_shell",
        "-c",
        "select 'versions=' || count(distinct data_version) as n from marts.fct_sales",
        home=settings.home,
    )
    assert sql.returncode == 0, sql.stderr
    assert "versions=1" in sql.stdout


def test_duckdb_out_of_memory_names_the_limit_and_how_to_raise_it(
    warehouse_settings: Settings, tmp_path: Path
) -> None:
    settings = copy_home(warehouse_settings, tmp_path / "home")
    published = settings.warehouse_path.read_bytes()
    done = run_module(
        "tamales_inc.warehouse.transform",
        "--force",
        home=settings.home,
        env={"TAMALES_DUCKDB_MEMORY_LIMIT": "16MB"},
    )
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("transform: error: dbt build failed, published warehouse left untouched")
    assert "Out of Memory Error:" in last
    assert last.endswith(
        "(DuckDB's memory limit is 16MB: raise TAMALES_DUCKDB_MEMORY_LIMIT, e.g. to 3GB for "
        "110M sales lines)"
    )
    assert settings.warehouse_path.read_bytes() == published
