"""Unit tests for grouping listed blobs into deliveries, tables and zones."""

from __future__ import annotations

from ingest.discovery import DeliveryKey, TableKey, discover
from ingest.source import BlobInfo

T = "tamales_inc/ventas_mensuales_tamales_inc/mx"
M = "teinvento_inc/ventas_reportadas_mercado_tamales/mx"


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
