"""Bad deliveries, as edits of a sample container folder, and the one line each must fail with.

Each scenario edits version 20200901 of a container whose good copy is already landed; the
ingest must reject that delivery, name the blob (or table) and the rule, and keep the previous
landing byte for byte.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest_helpers import TAMALES_DIR, TEINVENTO_DIR

VERSION = "20200901"
ERP = f"{TAMALES_DIR}/{VERSION}/csv"
MARKET = f"{TEINVENTO_DIR}/{VERSION}"


@dataclass(frozen=True)
class Scenario:
    """A bad delivery: how to make it from a good container, and how its rejection reads.

    `subject` and `rule` are regular expressions for the blob (or table) and the rule in the
    error line; `blob` finds the file they name in the edited folder, if any.
    """

    name: str
    edit: Callable[[Path], None]
    delivery: str
    subject: Callable[[Path], str]
    rule: str
    waivable: bool = True


def zone_file(root: Path, zone: str) -> Path:
    (path,) = (root / ERP / zone).glob("*.csv")
    return path


def blob_name(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _zero_byte_erp(root: Path) -> None:
    for path in (root / ERP).glob("*/*.csv"):
        path.write_bytes(b"")


def _extra_column(root: Path) -> None:
    path = zone_file(root, "Norte")
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("".join(f"{line},extra\n" for line in lines), encoding="utf-8")


def _backup_copy(root: Path) -> None:
    path = zone_file(root, "Norte")
    (path.parent / "old").mkdir()
    shutil.copy2(path, path.parent / "old" / path.name)


def _stray_next_to_zones(root: Path) -> None:
    shutil.copy2(zone_file(root, "Norte"), root / ERP / "ventas_backup.csv")


def _us_country(root: Path) -> None:
    target = root / "tamales_inc/ventas_mensuales_tamales_inc/us" / VERSION / "csv/Norte"
    target.mkdir(parents=True)
    shutil.copy2(zone_file(root, "Norte"), target / "ventas.csv")


def _second_csv(root: Path) -> None:
    shutil.copy2(zone_file(root, "Sur"), root / ERP / "Sur" / "ventas_sur_copia.csv")


def _zone_missing(root: Path) -> None:
    shutil.rmtree(root / ERP / "Sur")


def _parquet_parts(root: Path) -> None:
    for path in sorted((root / MARKET / "fact_table").glob("part-*.csv")):
        path.rename(path.with_name(path.name.removesuffix(".csv") + ".snappy.parquet"))


def _no_success(root: Path) -> None:
    """A re-delivery whose Spark job died: its last part and `_SUCCESS` were never written."""
    (root / MARKET / "fact_table" / "_SUCCESS").unlink()
    max((root / MARKET / "fact_table").glob("part-*.csv")).unlink()


def _rows_collapse(root: Path) -> None:
    for path in (root / ERP).glob("*/*.csv"):
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join(lines[: len(lines) // 2]))


def _sales_collapse(root: Path) -> None:
    for path in (root / MARKET / "fact_table").glob("part-*.csv"):
        rows = [line.split(",") for line in path.read_text(encoding="utf-8").splitlines()]
        for row in rows:
            row[2] = repr(float(row[2]) / 10) if row[2] else ""
        path.write_text("".join(",".join(row) + "\n" for row in rows), encoding="utf-8")


def _first_fact_part(root: Path) -> str:
    return blob_name(root, min((root / MARKET / "fact_table").glob("*.snappy.parquet")))


SCENARIOS = [
    Scenario(
        "zero-byte-erp",
        _zero_byte_erp,
        f"tamales_inc/{VERSION}",
        lambda root: blob_name(root, zone_file(root, "Centro")),
        r"empty zone file \(0 lines\)",
    ),
    Scenario(
        "extra-column",
        _extra_column,
        f"tamales_inc/{VERSION}",
        lambda root: blob_name(root, zone_file(root, "Norte")),
        r"([\d,]+) of \1 lines quarantined \(100\.0% > 5% per blob\), "
        r"e\.g\. line 1: wrong column count: 10 \(expected 9\)",
    ),
    Scenario(
        "backup-copy",
        _backup_copy,
        f"tamales_inc/{VERSION}",
        lambda root: blob_name(root, next((root / ERP / "Norte" / "old").glob("*.csv"))),
        r"unexpected blob: a folder inside zone folder 'Norte'; a zone folder holds one \.csv "
        r"file; it is never landed",
        waivable=False,
    ),
    Scenario(
        "stray-next-to-zones",
        _stray_next_to_zones,
        f"tamales_inc/{VERSION}",
        lambda root: f"{ERP}/ventas_backup.csv",
        r"unexpected blob: a file next to the zone folders; expected csv/<zone>/<one file>\.csv; "
        r"it is never landed",
        waivable=False,
    ),
    Scenario(
        "us-country",
        _us_country,
        f"tamales_inc/{VERSION}",
        lambda root: f"tamales_inc/ventas_mensuales_tamales_inc/us/{VERSION}/csv/Norte/ventas.csv",
        r"unexpected blob: country folder 'us' is not 'mx'; it is never landed",
        waivable=False,
    ),
    Scenario(
        "second-csv-in-a-zone",
        _second_csv,
        f"tamales_inc/{VERSION}",
        lambda root: f"{ERP}/Sur/",
        r"zone folder 'Sur' holds 2 \.csv files \(\S+, ventas_sur_copia\.csv\); a zone folder "
        r"holds exactly one",
        waivable=False,
    ),
    Scenario(
        "zone-missing",
        _zone_missing,
        f"tamales_inc/{VERSION}",
        lambda root: f"{ERP}/Sur/",
        rf"zone folder missing \(the landed version {VERSION} has it\)",
    ),
    Scenario(
        "parquet-parts",
        _parquet_parts,
        f"teinvento_inc/{VERSION}",
        _first_fact_part,
        r"unexpected blob: not a part-\*\.csv file or _SUCCESS; it is never landed",
        waivable=False,
    ),
    Scenario(
        "no-success-marker",
        _no_success,
        f"teinvento_inc/{VERSION}",
        lambda root: f"teinvento_inc/{VERSION}/fact_table",
        r"no _SUCCESS marker: the Spark job did not finish",
    ),
    Scenario(
        "rows-collapse",
        _rows_collapse,
        f"tamales_inc/{VERSION}",
        lambda root: f"tamales_inc/{VERSION}/monthly_sales",
        rf"rows [\d,]+ -> [\d,]+ \(-5\d\.\d%, allowed -10% to \+50%\) against version {VERSION}",
    ),
    Scenario(
        "sales-collapse",
        _sales_collapse,
        f"teinvento_inc/{VERSION}",
        lambda root: f"teinvento_inc/{VERSION}/fact_table",
        r"sales total [\d,.]+ -> [\d,.]+ \(-90\.0%, allowed -10% to \+50%\) "
        rf"against version {VERSION}",
    ),
]


def error_pattern(scenario: Scenario, root: Path, *, kept: bool = True) -> re.Pattern[str]:
    """The one error line of the rejected delivery."""
    landing = "its previous landing is kept" if kept else "it was never landed"
    advice = (
        rf"if the change is real, rerun with --accept {VERSION}"
        if scenario.waivable
        else r"fix the container \(remove or move that blob\), then rerun"
    )
    return re.compile(
        rf"ingest: error: delivery {re.escape(scenario.delivery)} rejected, nothing of it landed "
        rf"\({landing}\): {re.escape(scenario.subject(root))}: {scenario.rule}"
        rf"( \(\+\d+ more\))?; {advice}; details in \S+/manifests/runs/\S+\.json\n"
    )


def landed_bytes(home: Path) -> dict[str, bytes]:
    """Every landed parquet file and the ingest state, byte for byte."""
    files = sorted((home / "raw").rglob("*")) + sorted((home / "quarantine").rglob("*"))
    files.append(home / "manifests" / "ingest_state.json")
    return {str(p.relative_to(home)): p.read_bytes() for p in files if p.is_file()}
