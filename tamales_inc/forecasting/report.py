"""Training report per model version: PNG charts, a Markdown page and an offline `index.html`."""

from __future__ import annotations

import html
import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from tamales_inc.forecasting.intervals import level_tag  # noqa: E402
from tamales_inc.forecasting.metrics import METRIC_COLUMNS  # noqa: E402

REPORT_FILE = "README.md"
INDEX_FILE = "index.html"
IMPORTANCE_FILE = "feature_importance.png"
TOTAL_FILE = "total_forecast.png"
ZONES_FILE = "zone_forecast.png"
ERROR_FILE = "error_by_horizon.png"
DPI = 130
MIN_WIDTH = 9.0  # inches
SALES_LABEL = "monthly sales (MXN)"
COLORS = {"actual": "black", "backtest": "tab:orange", "forecast": "tab:blue"}


@dataclass(frozen=True)
class FeatureImportance:
    """Total gain per input of one fitted model, and a title saying which model that is."""

    gain: dict[str, float]
    title: str


@dataclass(frozen=True)
class Chart:
    """One chart file of a report and the sentence that says what it shows."""

    file: str
    caption: str


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "series"


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def _markdown_table(frame: pl.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([head, rule, *rows])


def _html_table(frame: pl.DataFrame, highlight: str | None = None) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.iter_rows():
        cls = ' class="champion"' if highlight is not None and row[0] == highlight else ""
        cells = "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row)
        rows.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def model_table(metrics: pl.DataFrame, predictions: pl.DataFrame) -> pl.DataFrame:
    """One row per model: overall WAPE, MASE, RMSE, bias, n, WAPE per horizon and per source."""
    overall = metrics.filter(pl.col("scope") == "overall").select("model", *METRIC_COLUMNS)
    by_h = (
        metrics.filter(pl.col("scope") == "horizon")
        .select("model", pl.format("wape_h{}", "scope_value").alias("col"), "wape")
        .pivot(on="col", index="model", values="wape")
    )
    by_source = (
        predictions.filter(pl.col("y_true").is_not_null())
        .group_by("model", "source")
        .agg(
            (
                (pl.col("y_true") - pl.col("y_pred")).abs().sum() / pl.col("y_true").abs().sum()
            ).alias("wape")
        )
        .with_columns(pl.format("wape_{}", "source").alias("col"))
        .pivot(on="col", index="model", values="wape")
    )
    return (
        overall.join(by_h, on="model", how="left")
        .join(by_source, on="model", how="left")
        .sort("wape")
    )


def _sales_tick(value: float, _pos: object = None) -> str:
    """Axis ticks in sales: 1.2M, 350k, 900."""
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:,.1f}M".replace(".0M", "M")
    if magnitude >= 1e3:
        return f"{value / 1e3:,.0f}k"
    return f"{value:,.0f}"


def _style_sales_axes(ax: Axes, title: str) -> None:
    ax.set_title(title, fontsize=9)
    ax.set_ylabel(SALES_LABEL, fontsize=8)
    ax.yaxis.set_major_formatter(FuncFormatter(_sales_tick))
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    ax.tick_params(labelsize=7)
    ax.tick_params(axis="x", rotation=45)
    ax.grid(True, alpha=0.25, lw=0.5)


def _draw_series(
    ax: Axes,
    actual: pl.DataFrame,
    backtest: pl.DataFrame,
    forecast: pl.DataFrame,
    *,
    bands: bool,
) -> None:
    """Actual sales, the champion's horizon-1 backtest and its forecast (with the 80%/95% bands
    when `bands`: they hold for one series, not for a sum of series)."""
    a = actual.sort("sales_month")
    ax.plot(a["sales_month"], a["sales"], color=COLORS["actual"], lw=1.2, label="actual")
    b = backtest.sort("sales_month")
    if b.height:
        ax.plot(
            b["sales_month"],
            b["y_pred"],
            "o--",
            color=COLORS["backtest"],
            ms=3,
            lw=1,
            label="backtest forecast, 1 month ahead",
        )
    if bands:
        for level, alpha in ((0.95, 0.15), (0.8, 0.3)):
            fl = forecast.filter(pl.col("level") == level).sort("sales_month")
            if fl.height:
                ax.fill_between(
                    fl["sales_month"],
                    fl["yhat_lower"],
                    fl["yhat_upper"],
                    color=COLORS["forecast"],
                    alpha=alpha,
                    lw=0,
                    label=f"{level_tag(level)}% interval",
                )
    f = forecast.filter(pl.col("level") == 0.8).sort("sales_month")
    if f.height:
        ax.plot(
            f["sales_month"],
            f["yhat"],
            "o-",
            color=COLORS["forecast"],
            ms=3,
            lw=1.2,
            label="forecast",
        )


def _grid(n: int, cols: int, width: float = 4.6, height: float = 2.9) -> tuple[Figure, list[Axes]]:
    cols = max(1, min(cols, n))
    rows = math.ceil(n / cols)
    fig_width = max(width * cols, MIN_WIDTH)  # room for the legend under a single panel
    fig, axes = plt.subplots(
        rows, cols, figsize=(fig_width, height * rows + 0.9), squeeze=False, layout="constrained"
    )
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _save(fig: Figure, path: Path, title: str, legend_from: Axes | None = None) -> None:
    """Title, a legend under the panels (never over the data), and the file at `DPI`."""
    fig.suptitle(title, fontsize=11)
    if legend_from is not None:
        handles, labels = legend_from.get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="outside lower center", ncol=len(handles), fontsize=8)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def _plot_product(
    path: Path,
    product_id: str,
    actuals: pl.DataFrame,
    backtest: pl.DataFrame,
    forecasts: pl.DataFrame,
) -> None:
    series = actuals.select("source", "zone_id").unique().sort("source", "zone_id").rows()
    fig, axes = _grid(len(series), cols=3)
    for ax, (source, zone) in zip(axes, series, strict=True):
        sel = (pl.col("source") == source) & (pl.col("zone_id") == zone)
        _draw_series(
            ax,
            actuals.filter(sel),
            backtest.filter(sel),
            forecasts.filter(sel),
            bands=True,
        )
        _style_sales_axes(ax, f"{source} / {zone}")
    _save(fig, path, f"{product_id}: every series of the product", axes[0] if axes else None)


def _summed(frame: pl.DataFrame, keys: Sequence[str], value: str) -> pl.DataFrame:
    """The sum per group and month; a month where every value is missing stays missing."""
    total = pl.when(pl.col(value).is_not_null().any()).then(pl.col(value).sum())
    return frame.group_by(*keys, "sales_month").agg(total.alias(value))


def _plot_totals(
    path: Path,
    actuals: pl.DataFrame,
    backtest: pl.DataFrame,
    forecasts: pl.DataFrame,
    by: Sequence[str],
    title: str,
) -> None:
    """Sales summed over series per `by` (always per source: the two sources are never added)."""
    points = forecasts.filter(pl.col("level") == 0.8)
    groups = actuals.select(*by).unique().sort(*by).rows()
    fig, axes = _grid(len(groups), cols=2, width=6.0, height=3.0)
    for ax, key in zip(axes, groups, strict=True):
        sel = pl.all_horizontal(pl.col(c) == v for c, v in zip(by, key, strict=True))
        _draw_series(
            ax,
            _summed(actuals.filter(sel), by, "sales"),
            _summed(backtest.filter(sel), by, "y_pred"),
            _summed(points.filter(sel), by, "yhat").with_columns(level=pl.lit(0.8)),
            bands=False,
        )
        _style_sales_axes(ax, " / ".join(str(v) for v in key))
    _save(fig, path, title, axes[0] if axes else None)


def _plot_importance(path: Path, importance: FeatureImportance, top: int = 20) -> None:
    ranked = sorted(importance.gain.items(), key=lambda kv: kv[1], reverse=True)[:top]
    total = sum(importance.gain.values()) or 1.0
    names = [k for k, _ in ranked][::-1]
    values = [v / total for _, v in ranked][::-1]
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(names) + 1.4), layout="constrained")
    ax.barh(names, values, color="tab:green")
    ax.set_xlabel("share of total gain")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0%}"))
    ax.set_title(textwrap.fill(importance.title, 70), fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(True, axis="x", alpha=0.25, lw=0.5)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def _plot_error_by_horizon(path: Path, metrics: pl.DataFrame, champion: str) -> None:
    by_h = metrics.filter(pl.col("scope") == "horizon").with_columns(
        pl.col("scope_value").cast(pl.Int32).alias("horizon")
    )
    palette = plt.get_cmap("tab20").colors
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    groups = by_h.sort("model", "horizon").group_by(["model"], maintain_order=True)
    for i, ((model,), part) in enumerate(groups):
        is_champion = model == champion
        label = f"{model} (champion)" if is_champion else str(model)
        for ax, metric in zip(axes, ("wape", "mase"), strict=True):
            ax.plot(
                part["horizon"],
                part[metric],
                "o-",
                label=label,
                color=palette[i % len(palette)],
                lw=2.6 if is_champion else 1.2,
                ms=6 if is_champion else 4,
                zorder=3 if is_champion else 2,
            )
    for ax, metric, unit in zip(
        axes,
        ("WAPE", "MASE"),
        ("share of actual sales", "error / in-sample naive error"),
        strict=True,
    ):
        ax.set_xlabel("horizon (months ahead)")
        ax.set_ylabel(f"{metric} ({unit})")
        ax.set_title(f"backtest {metric} by horizon", fontsize=10)
        ax.set_xticks(sorted(set(by_h["horizon"].to_list())))
        ax.grid(True, alpha=0.25, lw=0.5)
    axes[0].yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0%}"))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize=8, title="model")
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def _write_charts(
    out_dir: Path,
    champion: str,
    features: pl.DataFrame,
    predictions: pl.DataFrame,
    metrics: pl.DataFrame,
    forecasts: pl.DataFrame,
) -> list[Chart]:
    """The total and per-zone charts, one chart per product (the champion's horizon-1 backtest
    and its forecast) and the error by horizon of every model."""
    actuals = features.select("source", "product_id", "zone_id", "sales_month", "sales")
    backtest = predictions.filter((pl.col("model") == champion) & (pl.col("horizon") == 1))
    charts = [
        Chart(TOTAL_FILE, f"Total sales per source: actual, {champion}'s backtest and forecast"),
        Chart(ZONES_FILE, f"Sales per source and zone: actual, {champion}'s backtest and forecast"),
    ]
    _plot_totals(
        out_dir / TOTAL_FILE,
        actuals,
        backtest,
        forecasts,
        ["source"],
        "Total sales per source (sum of every series; the two sources are never added)",
    )
    _plot_totals(
        out_dir / ZONES_FILE,
        actuals,
        backtest,
        forecasts,
        ["source", "zone_id"],
        "Sales per source and zone (sum of the zone's products)",
    )
    _plot_error_by_horizon(out_dir / ERROR_FILE, metrics, champion)
    charts.append(Chart(ERROR_FILE, "WAPE and MASE by horizon, every model"))
    for (product_id,), part in actuals.sort("product_id").group_by(
        ["product_id"], maintain_order=True
    ):
        name = f"forecast_{_slug(str(product_id))}.png"
        sel = pl.col("product_id") == product_id
        _plot_product(
            out_dir / name, str(product_id), part, backtest.filter(sel), forecasts.filter(sel)
        )
        charts.append(Chart(name, f"{product_id}: each series with its 80% and 95% intervals"))
    return charts


def _coverage_table(coverage: pl.DataFrame) -> pl.DataFrame:
    return coverage.with_columns(
        pl.when(pl.col("horizon") == 0)
        .then(pl.lit("all"))
        .otherwise(pl.col("horizon").cast(pl.String))
        .alias("horizon")
    )


def _facts(version: str, champion: str, is_promoted: bool, summary: dict[str, Any]) -> list[str]:
    """The report's header facts, as Markdown list items without the bullet."""
    promoted = "promoted to models/current" if is_promoted else "NOT promoted"
    return [
        f"champion: **{champion}** (lowest backtest WAPE); {promoted} "
        f"({summary.get('promotion_reason', '')})",
        f"training data version {summary.get('training_data_version')}, warehouse sha256 "
        f"`{summary.get('warehouse_sha256', '')[:16]}...`",
        f"backtest origins: {', '.join(str(o) for o in summary.get('origins', []))}; "
        f"horizons {summary.get('horizons')}",
    ]


METRICS_NOTE = (
    "WAPE and bias are relative to total |actual| (bias > 0: over-forecast); MASE uses the "
    "seasonal (lag-12) in-sample scale with two years of history, the naive scale otherwise; "
    "RMSE is in MXN."
)


def _markdown(
    version: str,
    facts: list[str],
    champion: str,
    table: pl.DataFrame,
    coverage: pl.DataFrame,
    charts: list[Chart],
) -> str:
    lines = [
        f"# Model {version}",
        "",
        *(f"- {fact}" for fact in facts),
        "",
        "## Models against backtest metrics",
        "",
        METRICS_NOTE,
        "",
        _markdown_table(table),
        "",
        f"## Interval coverage of {champion} (leave-one-origin-out conformal)",
        "",
        _markdown_table(coverage),
        "",
        "## Charts",
        "",
        f"Open `{INDEX_FILE}` in a browser to see them with these tables.",
        "",
        *(f"- `{chart.file}`: {chart.caption}" for chart in charts),
        "",
    ]
    return "\n".join(lines)


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.champion { background: #eef5ff; font-weight: bold; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #555; }
"""


def _inline_markdown(text: str) -> str:
    escaped = html.escape(text)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)


def _index_html(
    version: str,
    facts: list[str],
    champion: str,
    table: pl.DataFrame,
    coverage: pl.DataFrame,
    charts: list[Chart],
) -> str:
    """A self-contained page (no script, no remote file) showing every chart and both tables."""
    figures = "\n".join(
        f'<figure id="{html.escape(_slug(c.file))}"><img src="{html.escape(c.file)}" '
        f'alt="{html.escape(c.caption)}"><figcaption>{html.escape(c.caption)}</figcaption></figure>'
        for c in charts
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Model {html.escape(version)}</title><style>{STYLE}</style></head>
<body>
<h1>Model {html.escape(version)}</h1>
<ul>{"".join(f"<li>{_inline_markdown(fact)}</li>" for fact in facts)}</ul>
<h2>Models against backtest metrics</h2>
<p>{html.escape(METRICS_NOTE)}</p>
{_html_table(table, highlight=champion)}
<h2>Interval coverage of {html.escape(champion)} (leave-one-origin-out conformal)</h2>
{_html_table(coverage)}
<h2>Charts</h2>
{figures}
</body></html>
"""


def write_report(
    out_dir: Path,
    *,
    version: str,
    champion: str,
    is_promoted: bool,
    features: pl.DataFrame,
    predictions: pl.DataFrame,
    metrics: pl.DataFrame,
    forecasts: pl.DataFrame,
    coverage: pl.DataFrame,
    importance: FeatureImportance | None,
    summary: dict[str, Any],
) -> list[Path]:
    """Write the charts, `README.md` and `index.html` under `out_dir` (created); returns the
    files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    charts = _write_charts(out_dir, champion, features, predictions, metrics, forecasts)
    if importance is not None:
        _plot_importance(out_dir / IMPORTANCE_FILE, importance)
        charts.insert(3, Chart(IMPORTANCE_FILE, importance.title))
    facts = _facts(version, champion, is_promoted, summary)
    table = model_table(metrics, predictions)
    cov = _coverage_table(coverage)
    pages = {
        REPORT_FILE: _markdown(version, facts, champion, table, cov, charts),
        INDEX_FILE: _index_html(version, facts, champion, table, cov, charts),
    }
    for name, text in pages.items():
        (out_dir / name).write_text(text, encoding="utf-8")
    return [out_dir / c.file for c in charts] + [out_dir / name for name in pages]
