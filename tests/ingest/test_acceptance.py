"""Bad deliveries from a local folder: each is rejected in one line, the previous landing kept."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from deliveries import SCENARIOS, VERSION, Scenario, error_pattern, landed_bytes, zone_file
from ingest_helpers import TAMALES_DIR

from ingest.__main__ import main
from ingest.errors import DeliveryRejected
from ingest.manifest import IngestState
from ingest.pipeline import run_ingest
from tamales_inc.core.settings import Settings

CLI = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> CLI:
    """`python -m ingest` in-process with exactly `env` (no developer variables, no `.env`):
    (exit code, stdout, stderr)."""

    def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
        for key in list(os.environ):
            if key.startswith(("TAMALES_", "AZURE_")):
                monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(tmp_path)
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def landed_copy(
    tmp_path: Path, landed_settings: Settings, sample_container: Path
) -> tuple[dict[str, str], Path]:
    """A copy of the landed scale-1 sample home and of its container (same mtimes, so the
    landing is current): the environment for the CLI, and the container folder to edit."""
    home, container = tmp_path / "home", tmp_path / "container"
    for sub in ("raw", "quarantine", "manifests"):
        shutil.copytree(landed_settings.home / sub, home / sub)
    shutil.copytree(sample_container, container)
    return {"TAMALES_HOME": str(home), "TAMALES_SOURCE_DIR": str(container)}, container


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_a_bad_delivery_is_rejected_and_the_previous_landing_kept(
    scenario: Scenario, landed_copy: tuple[dict[str, str], Path], cli: CLI
) -> None:
    env, container = landed_copy
    home = Path(env["TAMALES_HOME"])
    before = landed_bytes(home)
    scenario.edit(container)
    code, out, err = cli(env)
    assert code == 1
    assert error_pattern(scenario, container).fullmatch(err), err
    assert landed_bytes(home) == before
    assert not list(home.rglob(".*.tmp-*"))
    summary = out.splitlines()[-1]
    assert f", 1 delivery rejected ({scenario.delivery}), read " in summary
    assert f"{scenario.delivery}: rejected (" in out
    (manifest,) = [
        json.loads(p.read_text())
        for p in (home / "manifests" / "runs").glob("*.json")
        if json.loads(p.read_text())["status"] == "failed"
    ]
    assert manifest["error"] in err
    (rejected,) = [d for d in manifest["deliveries"] if d["status"] == "rejected"]
    assert rejected["key"] == scenario.delivery and rejected["previous_landing_kept"]
    first = rejected["violations"][0]
    assert first["subject"] == scenario.subject(container)
    assert first["waivable"] is scenario.waivable
    assert all(d["status"] == "unchanged" for d in manifest["deliveries"] if d is not rejected)


def test_good_deliveries_land_beside_a_rejected_one(
    tmp_path: Path, sample_container: Path, cli: CLI
) -> None:
    container = tmp_path / "container"
    shutil.copytree(sample_container, container)
    extra_column = next(s for s in SCENARIOS if s.name == "extra-column")
    extra_column.edit(container)
    home = tmp_path / "home"
    code, out, err = cli({"TAMALES_HOME": str(home), "TAMALES_SOURCE_DIR": str(container)})
    assert code == 1
    assert error_pattern(extra_column, container, kept=False).fullmatch(err), err
    assert out.splitlines()[-1].startswith(
        "ingest: 7 tables (7 landed, 0 unchanged), 1 delivery rejected (tamales_inc/20200901), "
    )
    assert "tamales_inc/20200901: rejected (4 problems), nothing of it landed; it was never " in out
    landed = sorted(p.relative_to(home / "raw").as_posix() for p in (home / "raw").rglob("*.*"))
    assert landed == [
        "tamales_inc/20200801/monthly_sales.parquet",
        "teinvento_inc/20200801/fact_table.parquet",
        "teinvento_inc/20200801/product_dim.parquet",
        "teinvento_inc/20200801/region_dim.parquet",
        "teinvento_inc/20200901/fact_table.parquet",
        "teinvento_inc/20200901/product_dim.parquet",
        "teinvento_inc/20200901/region_dim.parquet",
    ]
    assert not (home / "raw" / "tamales_inc" / VERSION).exists()
    assert not (home / "quarantine" / "tamales_inc" / VERSION).exists()


def test_accept_lands_a_real_change_and_records_it(
    landed_copy: tuple[dict[str, str], Path], cli: CLI
) -> None:
    env, container = landed_copy
    home = Path(env["TAMALES_HOME"])
    collapse = next(s for s in SCENARIOS if s.name == "rows-collapse")
    collapse.edit(container)
    code, out, err = cli(env, "--accept", VERSION)
    assert code == 0, err
    assert "tamales_inc/20200901: accepted by --accept despite 2 problems: " in out
    assert out.splitlines()[-1].startswith("ingest: 8 tables (1 landed, 7 unchanged), read ")
    lines = sum(
        len(p.read_bytes().splitlines()) for p in (container / TAMALES_DIR / VERSION).rglob("*.csv")
    )
    settings = Settings.from_env({"TAMALES_HOME": str(home)})
    assert (
        pl.read_parquet(settings.raw_path("tamales_inc", VERSION, "monthly_sales")).height == lines
    )
    state = IngestState(settings.manifests_dir)
    assert state.tables[f"tamales_inc/{VERSION}/monthly_sales"].accepted_override
    assert not state.tables[f"teinvento_inc/{VERSION}/fact_table"].accepted_override
    runs = [json.loads(p.read_text()) for p in (home / "manifests" / "runs").glob("*.json")]
    (run,) = [r for r in runs if r["accept"]]
    assert run["status"] == "succeeded" and run["accept"] == [VERSION]
    (accepted,) = [d for d in run["deliveries"] if d["accepted_override"]]
    assert accepted["key"] == f"tamales_inc/{VERSION}" and accepted["status"] == "landed"
    assert [v["rule"].split(" ")[0] for v in accepted["violations"]] == ["rows", "sales"]
    again = cli(env)  # landed now: the next run needs no --accept
    assert again[0] == 0 and "0 landed, 8 unchanged" in again[1]


def test_accept_never_lands_an_unexpected_blob(
    landed_copy: tuple[dict[str, str], Path], cli: CLI
) -> None:
    env, container = landed_copy
    home = Path(env["TAMALES_HOME"])
    before = landed_bytes(home)
    backup = next(s for s in SCENARIOS if s.name == "backup-copy")
    backup.edit(container)
    zone_file(container, "Norte").write_text("2019,Jan,Mexico,Regular,Dulce,Norte,1,Tamal mix,1\n")
    code, _, err = cli(env, "--accept", f"tamales_inc/{VERSION}")
    assert code == 1
    assert error_pattern(backup, container).fullmatch(err), err
    assert landed_bytes(home) == before


def test_a_blob_outside_every_delivery_fails_the_run_after_landing(
    tmp_path: Path, sample_container: Path, cli: CLI
) -> None:
    container = tmp_path / "container"
    shutil.copytree(sample_container, container)
    (container / "tamales_inc" / "LEEME.csv").write_text("hola\n")
    home = tmp_path / "home"
    code, out, err = cli({"TAMALES_HOME": str(home), "TAMALES_SOURCE_DIR": str(container)})
    assert code == 1
    assert err == (
        "ingest: error: tamales_inc/LEEME.csv: unexpected blob outside every delivery: not under "
        "<source>/<dataset>/<country>/<version>/; it is never landed; remove or move it in the "
        f"container, then rerun; details in {next((home / 'manifests/runs').glob('*.json'))}\n"
    )
    assert "8 tables (8 landed, 0 unchanged)" in out  # every delivery is good
    (manifest,) = [json.loads(p.read_text()) for p in (home / "manifests/runs").glob("*.json")]
    assert manifest["unexpected_blobs"] == [
        {
            "name": "tamales_inc/LEEME.csv",
            "rule": "not under <source>/<dataset>/<country>/<version>/",
        }
    ]


def test_raised_limits_land_what_the_defaults_reject(
    landed_copy: tuple[dict[str, str], Path], cli: CLI
) -> None:
    env, container = landed_copy
    next(s for s in SCENARIOS if s.name == "extra-column").edit(container)
    limits = {
        "TAMALES_MAX_QUARANTINED_PER_BLOB": "100",
        "TAMALES_MAX_QUARANTINED_PER_TABLE": "30",
        "TAMALES_ROWS_CHANGE": "-30,50",
        "TAMALES_SALES_CHANGE": "-30,50",
    }
    code, out, err = cli(env | limits)
    assert code == 0, err
    norte = zone_file(container, "Norte")
    lines = len(norte.read_bytes().splitlines())
    assert f"tamales_inc/{VERSION}/monthly_sales: read " in out
    quarantine = pl.read_parquet(
        Path(env["TAMALES_HOME"]) / "quarantine" / "tamales_inc" / VERSION / "monthly_sales.parquet"
    )
    assert quarantine.height == lines and quarantine["reason"].unique().to_list() == [
        "wrong column count: 10 (expected 9)"
    ]


def test_a_run_killed_between_publishing_and_recording_relands_the_delivery(
    landed_copy: tuple[dict[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    env, container = landed_copy
    settings = Settings.from_env(env)
    centro = zone_file(container, "Centro")
    centro.write_bytes(b"".join(centro.read_bytes().splitlines(keepends=True)[1:]))  # one line less
    state_before = (settings.manifests_dir / "ingest_state.json").read_bytes()
    save = IngestState.save

    def crash(self: IngestState) -> None:
        raise OSError("simulated crash after the renames, before the state is recorded")

    monkeypatch.setattr(IngestState, "save", crash)
    with pytest.raises(OSError, match="simulated crash"):
        run_ingest(settings)
    raw = settings.raw_path("tamales_inc", VERSION, "monthly_sales")
    assert pl.read_parquet(raw).height == _lines(container, VERSION)  # published ...
    assert (
        settings.manifests_dir / "ingest_state.json"
    ).read_bytes() == state_before  # not recorded
    monkeypatch.setattr(IngestState, "save", save)
    report = run_ingest(settings)
    assert [str(t.key) for t in report.landed] == [f"tamales_inc/{VERSION}/monthly_sales"]
    record = IngestState(settings.manifests_dir).tables[f"tamales_inc/{VERSION}/monthly_sales"]
    assert record.rows_landed == pl.read_parquet(raw).height == _lines(container, VERSION)
    assert run_ingest(settings).blobs_downloaded == 0


def _lines(container: Path, version: str) -> int:
    files = (container / TAMALES_DIR / version).rglob("*.csv")
    return sum(len(p.read_bytes().splitlines()) for p in files)


INGEST_VARIABLES = (
    "TAMALES_BLOB_TIMEOUT",
    "TAMALES_MAX_QUARANTINED_PER_BLOB",
    "TAMALES_MAX_QUARANTINED_PER_TABLE",
    "TAMALES_ROWS_CHANGE",
    "TAMALES_SALES_CHANGE",
)


def test_the_limits_have_documented_defaults() -> None:
    from tamales_inc.core.settings import ENVIRONMENT

    settings = Settings.from_env({"TAMALES_HOME": "/tmp/x"})
    assert (settings.blob_timeout, settings.max_quarantined_per_blob) == (15.0, 5.0)
    assert settings.max_quarantined_per_table == 1.0
    assert settings.rows_change == settings.sales_change == (-10.0, 50.0)
    page = (Path(__file__).resolve().parents[2] / "docs" / "ingest.md").read_text()
    for name in INGEST_VARIABLES:
        assert name in ENVIRONMENT and f"`{name}`" in page


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TAMALES_BLOB_TIMEOUT", "0", "TAMALES_BLOB_TIMEOUT '0' must be a finite positive number"),
        ("TAMALES_BLOB_TIMEOUT", "soon", "TAMALES_BLOB_TIMEOUT 'soon' is not a number"),
        ("TAMALES_MAX_QUARANTINED_PER_BLOB", "150", "is not a percentage between 0 and 100"),
        ("TAMALES_ROWS_CHANGE", "50", "TAMALES_ROWS_CHANGE '50' is not min,max in percent"),
        ("TAMALES_SALES_CHANGE", "5,50", "expected min <= 0 <= max (e.g. -10,50)"),
    ],
)
def test_a_bad_limit_is_one_clear_line(name: str, value: str, message: str, cli: CLI) -> None:
    code, out, err = cli({"TAMALES_HOME": "/nonexistent/home", name: value})
    assert code == 1 and out == ""
    assert err.startswith("ingest: error: ValueError: ") and message in err


def test_a_delivery_the_listing_rejects_is_never_downloaded(
    tmp_path: Path, sample_container: Path
) -> None:
    container = tmp_path / "container"
    shutil.copytree(sample_container, container)
    next(s for s in SCENARIOS if s.name == "backup-copy").edit(container)
    settings = Settings.from_env(
        {"TAMALES_HOME": str(tmp_path / "home"), "TAMALES_SOURCE_DIR": str(container)}
    )
    with pytest.raises(DeliveryRejected) as caught:
        run_ingest(settings)
    report = caught.value.report
    # 20 data blobs a version (4 zone files, 16 Spark parts): the three good deliveries only
    assert report.blobs_downloaded == 4 + 16 + 16
    assert [str(d.key) for d in report.rejected] == [f"tamales_inc/{VERSION}"]
