"""Unit tests for mapping blob names to landed tables and grouping them into deliveries."""

from __future__ import annotations

import pytest

from ingest.discovery import DeliveryKey, TableKey, classify, discover
from ingest.source import BlobInfo
from tamales_inc.core.versions import is_version

T = "tamales_inc/ventas_mensuales_tamales_inc/mx"
M = "teinvento_inc/ventas_reportadas_mercado_tamales/mx"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            f"{T}/20200801/csv/Centro/ventas.csv",
            TableKey("tamales_inc", "20200801", "monthly_sales"),
        ),
        (
            f"{T}/20200901/csv/E._Privados/x.csv",
            TableKey("tamales_inc", "20200901", "monthly_sales"),
        ),
        (
            f"{M}/20200801/fact_table/part-00000-1b2c-c000.csv",
            TableKey("teinvento_inc", "20200801", "fact_table"),
        ),
        (
            f"{M}/20200801/product_dim/part-1.csv",
            TableKey("teinvento_inc", "20200801", "product_dim"),
        ),
        (
            f"{M}/20200801/region_dim/part-1.csv",
            TableKey("teinvento_inc", "20200801", "region_dim"),
        ),
    ],
)
def test_contract_blobs_map_to_their_table(name: str, expected: TableKey) -> None:
    assert classify(name) == expected


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (f"{M}/20200801/fact_table/_SUCCESS", "Spark success marker"),
        (f"{M}/20200801/fact_table/.part-00000.csv.crc", "hidden or metadata file"),
        (f"{M}/20200801/fact_table/notes.txt", "not a part-*.csv file or _SUCCESS"),
        (f"{M}/20200801/other_table/part-1.csv", "not in a table folder"),
        (f"{M}/20200801/fact_table/extra/part-1.csv", "not in a table folder"),
        (f"{T}/2020-08-01/csv/Centro/x.csv", "version folder '2020-08-01'"),
        (f"{T}/20201341/csv/Centro/x.csv", "version folder '20201341'"),
        ("tamales_inc/otro_dataset/mx/20200801/csv/Centro/x.csv", "unknown dataset 'otro_dataset'"),
        ("tamales_inc/readme.csv", "not under <source>/<dataset>/<country>/<version>/"),
    ],
)
def test_other_blobs_are_ignored_with_a_reason(name: str, reason: str) -> None:
    result = classify(name)
    assert isinstance(result, str) and result.startswith(reason)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20200801", True),
        ("20200229", True),
        ("20190229", False),  # not a leap year
        ("20201341", False),
        ("20200800", False),
        ("2020-08-01", False),
        ("202008011", False),
        ("2020080", False),
        ("\u0662\u0660\u0662\u0660\u0660\u0668\u0660\u0661", False),  # non-ASCII digits
        ("", False),
    ],
)
def test_is_version_accepts_only_real_yyyymmdd_dates(text: str, expected: bool) -> None:
    assert is_version(text) is expected


def test_discover_groups_sorted_blobs_per_table_and_version() -> None:
    names = [
        f"{T}/20200901/csv/Sur/b.csv",
        f"{T}/20200801/csv/Sur/b.csv",
        f"{T}/20200801/csv/Centro/a.csv",
        f"{M}/20200801/region_dim/_SUCCESS",
        f"{M}/20200801/region_dim/part-1.csv",
    ]
    found = discover(BlobInfo(n, "e", 1) for n in names)
    assert [str(k) for k in found.tables] == [
        "tamales_inc/20200801/monthly_sales",
        "tamales_inc/20200901/monthly_sales",
        "teinvento_inc/20200801/region_dim",
    ]
    first = found.tables[TableKey("tamales_inc", "20200801", "monthly_sales")]
    assert [b.name for b in first] == [
        f"{T}/20200801/csv/Centro/a.csv",
        f"{T}/20200801/csv/Sur/b.csv",
    ]
    assert found.unexpected == []
    market = found.deliveries[DeliveryKey("teinvento_inc", "20200801")]
    assert market.markers == {"region_dim"}  # the marker belongs to its table, not "ignored"
    erp = found.deliveries[DeliveryKey("tamales_inc", "20200801")]
    assert {zone: [b.name for b in blobs] for zone, blobs in erp.zones.items()} == {
        "Centro": [f"{T}/20200801/csv/Centro/a.csv"],
        "Sur": [f"{T}/20200801/csv/Sur/b.csv"],
    }


def test_unexpected_blobs_go_to_their_delivery_or_outside() -> None:
    names = [
        f"{T}/20200801/csv/Norte/a.csv",
        f"{T}/20200801/csv/Norte/old/a.csv",
        "tamales_inc/ventas_mensuales_tamales_inc/us/20200801/csv/Norte/a.csv",
        "tamales_inc/readme.csv",
    ]
    found = discover(BlobInfo(n, "e", 1) for n in names)
    erp = found.deliveries[DeliveryKey("tamales_inc", "20200801")]
    assert [name for name, _ in erp.unexpected] == [names[1], names[2]]
    assert [b.name for b in erp.tables[TableKey("tamales_inc", "20200801", "monthly_sales")]] == [
        names[0]
    ]  # never landed with the data
    assert found.outside == [
        ("tamales_inc/readme.csv", "not under <source>/<dataset>/<country>/<version>/")
    ]
    assert [name for name, _ in found.unexpected] == sorted(names[1:])
