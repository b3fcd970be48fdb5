"""The training report a person opens: readable charts and an offline page that shows them all."""

from __future__ import annotations

import re
import struct
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.registry import current_version
from tamales_inc.forecasting.report import (
    DPI,
    INDEX_FILE,
    TOTAL_FILE,
    ZONES_FILE,
    _sales_tick,
    _summed,
)
from tests.conftest import query_warehouse

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_info(path: Path) -> tuple[int, int, float]:
    """Width and height in pixels and the resolution in dots per inch (from the pHYs chunk)."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, path
    width, height = struct.unpack(">II", data[16:24])
    at = data.find(b"pHYs")
    assert at > 0, f"{path.name} states no resolution"
    per_metre_x, _per_metre_y, unit = struct.unpack(">IIB", data[at + 4 : at + 13])
    assert unit == 1  # metre
    return width, height, per_metre_x * 0.0254


@pytest.fixture(scope="module")
def report_dir(trained_settings: Settings) -> Path:
    return trained_settings.reports_dir / str(current_version(trained_settings))


def test_every_chart_is_legible_and_on_the_index_page(report_dir: Path) -> None:
    charts = sorted(p.name for p in report_dir.glob("*.png"))
    assert {TOTAL_FILE, ZONES_FILE, "error_by_horizon.png", "feature_importance.png"} <= set(charts)
    page = (report_dir / INDEX_FILE).read_text("utf-8")
    shown = re.findall(r'<img src="([^"]+)"', page)
    assert sorted(shown) == charts  # every chart once, nothing that is not there
    for name in charts:
        width, height, dpi = png_info(report_dir / name)
        assert dpi >= 120 and round(dpi) == DPI, name
        assert width >= 900 and height >= 400, (name, width, height)


def test_index_page_is_offline_and_holds_the_model_table(
    report_dir: Path, trained_settings: Settings
) -> None:
    page = (report_dir / INDEX_FILE).read_text("utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing from a network
    assert "<script" not in page
    overall = query_warehouse(
        trained_settings,
        "select model, wape from ml.backtest_metrics where scope = 'overall' order by wape",
    )
    rows = re.findall(r"<tr(?: class=\"champion\")?><td>([^<]+)</td><td>([^<]+)</td>", page)
    models = [model for model, _ in rows[: overall.height]]
    assert models == overall["model"].to_list()  # sorted by WAPE, best first
    assert [float(w) for _, w in rows[: overall.height]] == pytest.approx(
        overall["wape"].to_list(), abs=5e-4
    )
    champion = query_warehouse(
        trained_settings,
        "select model_name from ml.model_runs where is_champion order by trained_at",
    )["model_name"][-1]
    assert f'<tr class="champion"><td>{champion}</td>' in page
    markdown = (report_dir / "README.md").read_text("utf-8")
    assert f"`{INDEX_FILE}`" in markdown and f"`{TOTAL_FILE}`" in markdown


def test_sums_keep_a_month_missing_when_every_value_is() -> None:
    frame = pl.DataFrame(
        {
            "source": ["a", "a", "a", "a"],
            "sales_month": [date(2020, 1, 1)] * 2 + [date(2020, 2, 1)] * 2,
            "sales": [1.5, None, None, None],
        }
    )
    summed = _summed(frame, ["source"], "sales").sort("sales_month")
    assert summed["sales"].to_list() == [1.5, None]


def test_sales_ticks_read_as_amounts() -> None:
    assert [_sales_tick(v) for v in (1_200_000, 2_000_000, 350_000, 900, -5_000)] == [
        "1.2M",
        "2M",
        "350k",
        "900",
        "-5k",
    ]
