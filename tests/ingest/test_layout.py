"""Unit tests for the declared blob layout: where each blob belongs, or the rule it breaks."""

from __future__ import annotations

import pytest

from ingest.discovery import classify
from ingest.layout import MARKER, UNEXPECTED, place

T = "tamales_inc/ventas_mensuales_tamales_inc/mx"
M = "teinvento_inc/ventas_reportadas_mercado_tamales/mx"


def test_zone_files_know_their_zone_and_success_markers_their_table() -> None:
    assert place(f"{T}/20200801/csv/E._Privados/x.csv").zone == "E._Privados"
    marker = place(f"{M}/20200801/fact_table/_SUCCESS")
    assert (marker.kind, marker.version, marker.table) == (MARKER, "20200801", "fact_table")


# Each unexpected blob with (the start of) the rule it breaks, and the delivery it sits in.
UNEXPECTED_BLOBS = [
    (f"{M}/20200801/fact_table/.part-00000.csv.crc", "hidden or metadata file", "20200801"),
    (f"{M}/20200801/fact_table/notes.txt", "not a part-*.csv file or _SUCCESS", "20200801"),
    (
        f"{M}/20200801/fact_table/part-00000-a-c000.snappy.parquet",
        "not a part-*.csv file or _SUCCESS",
        "20200801",
    ),
    (f"{M}/20200801/other_table/part-1.csv", "not in a table folder", "20200801"),
    (f"{M}/20200801/fact_table/extra/part-1.csv", "not in a table folder", "20200801"),
    (f"{M}/20200801/part-1.csv", "not in a table folder", "20200801"),
    (f"{T}/2020-08-01/csv/Centro/x.csv", "version folder '2020-08-01'", None),
    (f"{T}/20201341/csv/Centro/x.csv", "version folder '20201341'", None),
    (
        "tamales_inc/otro_dataset/mx/20200801/csv/Centro/x.csv",
        "unknown dataset 'otro_dataset'",
        "20200801",
    ),
    ("tamales_inc/readme.csv", "not under <source>/<dataset>/<country>/<version>/", None),
    (f"{T}/20200801/csv/Norte/old/ventas.csv", "a folder inside zone folder 'Norte'", "20200801"),
    (f"{T}/20200801/csv/ventas_backup.csv", "a file next to the zone folders", "20200801"),
    (f"{T}/20200801/ventas.csv", "a file beside the csv folder", "20200801"),
    (f"{T}/20200801/xlsx/Norte/ventas.csv", "folder 'xlsx' is not 'csv'", "20200801"),
    (f"{T}/20200801/csv/Norte/ventas.xlsx", "not a .csv file", "20200801"),
    (
        "tamales_inc/ventas_mensuales_tamales_inc/us/20200801/csv/Norte/x.csv",
        "country folder 'us' is not 'mx'",
        "20200801",
    ),
]


@pytest.mark.parametrize(("name", "rule", "version"), UNEXPECTED_BLOBS)
def test_other_blobs_are_unexpected_with_the_rule_they_break(
    name: str, rule: str, version: str | None
) -> None:
    placed = place(name)
    assert placed.kind == UNEXPECTED and placed.rule.startswith(rule)
    assert placed.version == version  # the delivery it breaks, if it sits in one
    assert classify(name) == placed.rule  # what the grouping reports for it
