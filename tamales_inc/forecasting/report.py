"""Training report: PNG charts and a Markdown table of models against metrics, per model version."""

from __future__ import annotations

import math
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402

from tamales_inc.forecasting.intervals import level_tag  # noqa: E402
from tamales_inc.forecasting.metrics import METRIC_COLUMNS  # noqa: E402

REPORT_FILE = "README.md"
IMPORTANCE_FILE = "feature_importance.png"


@dataclass(frozen=True)
class FeatureImportance:
    """Total gain per input of one fitted model, and a title saying which model that is."""

    gain: dict[str, float]
    title: str


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


def _plot_product(
    path: Path,
    product_id: str,
    actuals: pl.DataFrame,
    backtest: pl.DataFrame,
    forecasts: pl.DataFrame,
) -> None:
    series = actuals.select("source", "zone_id").unique().sort("source", "zone_id").rows()
    n = len(series)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3 * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    for ax, (source, zone) in zip(axes.ravel(), series, strict=False):
        sel = (pl.col("source") == source) & (pl.col("zone_id") == zone)
        a = actuals.filter(sel).sort("sales_month")
        ax.plot(
            a["sales_month"].to_list(), a["sales"].to_list(), color="black", lw=1.2, label="actual"
        )
        b = backtest.filter(sel).sort("sales_month")
        if b.height:
            ax.plot(
                b["sales_month"].to_list(),
                b["y_pred"].to_list(),
                "o--",
                color="tab:orange",
                ms=3,
                lw=1,
                label="backtest (h=1)",
            )
        f = forecasts.filter(sel).sort("sales_month")
        for level, alpha in ((0.95, 0.15), (0.8, 0.3)):
            fl = f.filter(pl.col("level") == level)
            if fl.height:
                ax.fill_between(
                    fl["sales_month"].to_list(),
                    fl["yhat_lower"].to_list(),
                    fl["yhat_upper"].to_list(),
                    color="tab:blue",
                    alpha=alpha,
                    lw=0,
                    label=f"{level_tag(level)}% interval",
                )
        fl = f.filter(pl.col("level") == 0.8)
        if fl.height:
            ax.plot(
                fl["sales_month"].to_list(),
                fl["yhat"].to_list(),
                "o-",
                color="tab:blue",
                ms=3,
                lw=1.2,
                label="forecast",
            )
        ax.set_title(f"{source} / {zone}", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.tick_params(axis="x", rotation=45)
    axes.ravel()[0].legend(fontsize=7, loc="best")
    fig.suptitle(product_id, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _plot_importance(path: Path, importance: FeatureImportance, top: int = 20) -> None:
    ranked = sorted(importance.gain.items(), key=lambda kv: kv[1], reverse=True)[:top]
    total = sum(importance.gain.values()) or 1.0
    names = [k for k, _ in ranked][::-1]
    values = [v / total for _, v in ranked][::-1]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(names) + 1.2))
    ax.barh(names, values, color="tab:green")
    ax.set_xlabel("share of total gain")
    ax.set_title(textwrap.fill(importance.title, 60), fontsize=9)
    ax.tick_params(labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _plot_error_by_horizon(path: Path, metrics: pl.DataFrame) -> None:
    by_h = metrics.filter(pl.col("scope") == "horizon").with_columns(
        pl.col("scope_value").cast(pl.Int32).alias("horizon")
    )
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for (model,), part in by_h.sort("model", "horizon").group_by(["model"], maintain_order=True):
        for ax, metric in zip(axes, ("wape", "mase"), strict=True):
            ax.plot(part["horizon"].to_list(), part[metric].to_list(), "o-", label=str(model))
    for ax, metric in zip(axes, ("WAPE", "MASE"), strict=True):
        ax.set_xlabel("horizon (months)")
        ax.set_ylabel(metric)
        ax.set_title(f"backtest {metric} by horizon")
        ax.set_xticks(sorted(set(by_h["horizon"].to_list())))
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


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
    """Write the charts and `README.md` under `out_dir` (created); returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = _write_charts(out_dir, champion, features, predictions, metrics, forecasts)
    if importance is not None:
        _plot_importance(out_dir / IMPORTANCE_FILE, importance)
        written.append(out_dir / IMPORTANCE_FILE)
    charts = [
        ("error_by_horizon.png", "WAPE and MASE by horizon, every model"),
        *([(IMPORTANCE_FILE, importance.title)] if importance is not None else []),
        *((p.name, "") for p in written if p.name.startswith("forecast_")),
    ]
    lines = [
        f"# Model {version}",
        "",
        f"- champion: **{champion}** (lowest backtest WAPE); "
        f"{'promoted to models/current' if is_promoted else 'NOT promoted'} "
        f"({summary.get('promotion_reason', '')})",
        f"- training data version {summary.get('training_data_version')}, warehouse sha256 "
        f"`{summary.get('warehouse_sha256', '')[:16]}...`",
        f"- backtest origins: {', '.join(str(o) for o in summary.get('origins', []))}; "
        f"horizons {summary.get('horizons')}",
        "",
        *_tables_section(champion, predictions, metrics, coverage),
        "## Charts",
        "",
        *(f"- `{name}`" + (f": {what}" if what else "") for name, what in charts),
        "",
    ]
    path = out_dir / REPORT_FILE
    path.write_text("\n".join(lines), encoding="utf-8")
    written.append(path)
    return written


def _write_charts(
    out_dir: Path,
    champion: str,
    features: pl.DataFrame,
    predictions: pl.DataFrame,
    metrics: pl.DataFrame,
    forecasts: pl.DataFrame,
) -> list[Path]:
    """One forecast chart per product (the champion's horizon-1 backtest) and the error by
    horizon of every model."""
    written: list[Path] = []
    actuals = features.select("source", "product_id", "zone_id", "sales_month", "sales")
    backtest = predictions.filter((pl.col("model") == champion) & (pl.col("horizon") == 1))
    for (product_id,), part in actuals.sort("product_id").group_by(
        ["product_id"], maintain_order=True
    ):
        path = out_dir / f"forecast_{_slug(str(product_id))}.png"
        sel = pl.col("product_id") == product_id
        _plot_product(path, str(product_id), part, backtest.filter(sel), forecasts.filter(sel))
        written.append(path)
    path = out_dir / "error_by_horizon.png"
    _plot_error_by_horizon(path, metrics)
    written.append(path)
    return written


def _tables_section(
    champion: str, predictions: pl.DataFrame, metrics: pl.DataFrame, coverage: pl.DataFrame
) -> list[str]:
    """The report's Markdown tables: models against metrics, the champion's interval coverage."""
    cov = coverage.with_columns(
        pl.when(pl.col("horizon") == 0)
        .then(pl.lit("all"))
        .otherwise(pl.col("horizon").cast(pl.String))
        .alias("horizon")
    )
    return [
        "## Models against backtest metrics",
        "",
        "WAPE and bias are relative to total |actual| (bias > 0: over-forecast); MASE uses the "
        "seasonal (lag-12) in-sample scale with two years of history, the naive scale otherwise.",
        "",
        _markdown_table(model_table(metrics, predictions)),
        "",
        f"## Interval coverage of {champion} (leave-one-origin-out conformal)",
        "",
        _markdown_table(cov),
        "",
    ]
