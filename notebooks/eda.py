"""Exploratory analysis of the published data: series, seasonality, the 2020 shock, returns and
noise, market share and the backtest errors. A marimo notebook: `just eda` opens it."""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    from datetime import date

    import duckdb
    import marimo as mo
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    import polars as pl
    from matplotlib.ticker import FuncFormatter

    from tamales_inc.core.settings import Settings

    SALES = "monthly sales (MXN)"

    def millions(ax, axis="y"):
        """Sales ticks as 1.2M / 350k."""

        def tick(value, _pos=None):
            if abs(value) >= 1e6:
                return f"{value / 1e6:,.1f}M"
            return f"{value / 1e3:,.0f}k" if abs(value) >= 1e3 else f"{value:,.0f}"

        getattr(ax, f"{axis}axis").set_major_formatter(FuncFormatter(tick))

    return SALES, Settings, date, duckdb, mdates, millions, mo, pl, plt


@app.cell
def _(mo):
    mo.md("""
    # Tamales lakehouse: exploratory analysis

    This notebook reads what the pipeline published under `TAMALES_HOME`: the warehouse
    (`warehouse/tamales.duckdb`, read-only) and the processed parquet exports of its data
    version. Run `just build` first. A **series** is one source's sales of one product in one
    zone; the two sources (`tamales_inc`, the company's ERP, and `teinvento_inc`, the market
    feed) measure different things and are never added together.
    """)
    return


@app.cell
def _(Settings, duckdb, mo):
    settings = Settings.from_env()
    mo.stop(
        not settings.warehouse_path.exists(),
        mo.md(f"No warehouse published under `{settings.home}`: run `just build` first."),
    )
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    (data_version,) = con.execute("select data_version from meta.build_info").fetchone()
    processed = settings.processed_dir / "warehouse" / data_version
    mo.md(f"Data version **{data_version}** from `{settings.home}`.")
    return con, processed


@app.cell
def _(con, pl, processed):
    monthly = con.execute(
        """
        select m.source, m.product_id, p.product_name, m.zone_id, m.sales_month, m.sales,
               m.n_sales_lines, m.n_return_lines
        from marts.fct_sales_monthly m
        join marts.dim_product p using (product_id)
        order by all
        """
    ).pl()
    lines = pl.read_parquet(processed / "fct_sales.parquet")
    features = pl.read_parquet(processed / "sales_features.parquet")
    return features, lines, monthly


@app.cell
def _(mo, monthly):
    mo.md(
        f"""
        ## What is there

        {monthly["source"].n_unique()} sources, {monthly["product_id"].n_unique()} products,
        {monthly["zone_id"].n_unique()} zones and
        {monthly.select("source", "product_id", "zone_id").n_unique()} series, from
        {monthly["sales_month"].min()} to {monthly["sales_month"].max()}.
        """
    )
    return


@app.cell
def _(monthly, pl):
    monthly.group_by("source").agg(
        pl.col("product_id").n_unique().alias("products"),
        pl.col("zone_id").n_unique().alias("zones"),
        pl.col("sales_month").min().alias("first month"),
        pl.col("sales_month").max().alias("last month"),
        pl.col("sales").sum().round(0).alias("total sales (MXN)"),
        pl.col("n_sales_lines").sum().alias("sales lines"),
    ).sort("source")
    return


@app.cell
def _(mo):
    mo.md("""
    ## Series per product and zone

    One panel per product, one line per zone. The ERP starts in January 2019, the market
    feed in January 2018; gaps in a market line are months the feed left empty.
    """)
    return


@app.cell
def _(SALES, mdates, millions, monthly, pl, plt):
    def series_grid(source):
        part = monthly.filter(pl.col("source") == source)
        products = part["product_id"].unique().sort().to_list()
        zones = monthly["zone_id"].unique().sort().to_list()
        colors = dict(zip(zones, plt.get_cmap("tab10").colors, strict=False))
        cols = 3
        rows = -(-len(products) // cols)
        fig, axes = plt.subplots(
            rows, cols, figsize=(13, 2.7 * rows + 0.6), squeeze=False, layout="constrained"
        )
        for ax in axes.ravel()[len(products) :]:
            ax.set_visible(False)
        for ax, product in zip(axes.ravel(), products, strict=False):
            for (zone,), series in part.filter(pl.col("product_id") == product).group_by(
                ["zone_id"], maintain_order=True
            ):
                ax.plot(series["sales_month"], series["sales"], lw=1, color=colors[zone])
            ax.set_title(product, fontsize=9)
            ax.set_ylabel(SALES, fontsize=7)
            ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
            ax.tick_params(labelsize=7)
            ax.tick_params(axis="x", rotation=45)
            millions(ax)
        present = part["zone_id"].unique().sort().to_list()
        handles = [plt.Line2D([], [], color=colors[z], lw=1.5) for z in present]
        fig.legend(handles, present, loc="outside lower center", ncol=len(present), fontsize=8)
        fig.suptitle(f"{source}: monthly sales per product and zone")
        return fig

    series_grid("tamales_inc")
    return (series_grid,)


@app.cell
def _(series_grid):
    series_grid("teinvento_inc")
    return


@app.cell
def _(mo):
    mo.md("""
    ## Seasonality

    Each series' sales divided by its mean over 2019 (the year both sources cover in full),
    then the median per month of the year: above 1 is a strong month. February (Candelaria)
    and December stand out.
    """)
    return


@app.cell
def _(date, monthly, pl, plt):
    _base = (
        monthly.filter(pl.col("sales_month").dt.year() == 2019)
        .group_by("source", "product_id", "zone_id")
        .agg(pl.col("sales").mean().alias("mean_2019"))
        .filter(pl.col("mean_2019") > 0)
    )
    _profile = (
        monthly.filter(pl.col("sales_month") < date(2020, 3, 1))
        .join(_base, on=["source", "product_id", "zone_id"])
        .with_columns(
            (pl.col("sales") / pl.col("mean_2019")).alias("index"),
            pl.col("sales_month").dt.month().alias("month"),
        )
        .group_by("source", "month")
        .agg(pl.col("index").median())
        .sort("source", "month")
    )
    _fig, _ax = plt.subplots(figsize=(9, 3.6), layout="constrained")
    for (_source,), _part in _profile.group_by(["source"], maintain_order=True):
        _ax.plot(_part["month"], _part["index"], "o-", label=_source)
    _ax.axhline(1, color="grey", lw=0.8)
    _ax.set_xticks(range(1, 13), ["J", "F", "M", "A", "M", "J", "J", "A", "S", "O", "N", "D"])
    _ax.set_xlabel("month of the year")
    _ax.set_ylabel("sales / series' 2019 mean")
    _ax.set_title("median seasonal profile per source")
    _ax.legend(loc="upper center", ncol=2)
    _fig
    return


@app.cell
def _(mo):
    mo.md("""
    ## The spring-2020 shock

    Each source's pooled year-over-year ratio: its series' sales in a month over the same
    series' sales twelve months earlier (the mart's `source_yoy_ratio`). Sales fell to about
    half in April 2020 and recovered through the summer; the backtest window (Mar-Aug 2020
    origins) sits inside it.
    """)
    return


@app.cell
def _(date, features, plt):
    _ratio = (
        features.select("source", "sales_month", "source_yoy_ratio")
        .unique()
        .drop_nulls()
        .sort("source", "sales_month")
    )
    _fig, _ax = plt.subplots(figsize=(9, 3.6), layout="constrained")
    for (_source,), _part in _ratio.group_by(["source"], maintain_order=True):
        _ax.plot(_part["sales_month"], _part["source_yoy_ratio"], "o-", ms=3, label=_source)
    _ax.axhline(1, color="grey", lw=0.8)
    _ax.axvspan(date(2020, 3, 1), date(2020, 9, 1), color="tab:red", alpha=0.08)
    _ax.set_ylabel("sales / same month a year earlier")
    _ax.set_title("pooled year-over-year ratio (shaded: the 2020 shock)")
    _ax.legend(loc="lower left")
    _fig
    return


@app.cell
def _(mo):
    mo.md("""
    ## Returns and noise lines

    Sales lines of the ERP (`fct_sales`): negative amounts are returns (kept, flagged
    `is_return`); amounts below 1e-6 in absolute value are float noise (set to 0, flagged
    `is_noise`). Most lines are tiny; a few large lines carry most of the sales.
    """)
    return


@app.cell
def _(lines, pl):
    lines.group_by("source").agg(
        pl.len().alias("lines"),
        pl.col("is_return").sum().alias("returns"),
        pl.col("is_noise").sum().alias("noise"),
        (pl.col("sales") == 0).sum().alias("zero"),
        pl.col("sales").is_null().sum().alias("missing amount"),
        pl.col("sales").filter(pl.col("is_return")).sum().round(0).alias("returned (MXN)"),
    ).sort("source")
    return


@app.cell
def _(lines, pl, plt):
    _erp = lines.filter((pl.col("source") == "tamales_inc") & (pl.col("sales") != 0))
    _fig, (_left, _right) = plt.subplots(1, 2, figsize=(11, 3.6), layout="constrained")
    _left.hist(_erp["sales"].abs().log10(), bins=60, color="tab:blue")
    _left.set_xlabel("log10 |line amount| (MXN)")
    _left.set_ylabel("ERP lines")
    _left.set_title("size of ERP sales lines")
    _by_month = (
        lines.filter(pl.col("source") == "tamales_inc")
        .group_by("sales_month")
        .agg(pl.col("is_return").sum().alias("returns"), pl.col("is_noise").sum().alias("noise"))
        .sort("sales_month")
    )
    _right.bar(_by_month["sales_month"], _by_month["returns"], width=20, label="returns")
    _right.bar(
        _by_month["sales_month"],
        _by_month["noise"],
        width=20,
        bottom=_by_month["returns"],
        label="noise",
    )
    _right.set_ylabel("lines per month")
    _right.set_title("ERP return and noise lines")
    _right.legend(loc="upper left")
    _right.tick_params(axis="x", rotation=45)
    _fig
    return


@app.cell
def _(mo):
    mo.md("""
    ## Market share

    Tamales Inc products' share of all market-feed sales in each zone (the mart's
    `own_share_of_market`, from the feed alone).
    """)
    return


@app.cell
def _(features, pl, plt):
    _share = (
        features.filter(pl.col("source") == "teinvento_inc")
        .select("zone_id", "sales_month", "own_share_of_market")
        .unique()
        .drop_nulls()
        .sort("zone_id", "sales_month")
    )
    _fig, _ax = plt.subplots(figsize=(9, 3.6), layout="constrained")
    for (_zone,), _part in _share.group_by(["zone_id"], maintain_order=True):
        _ax.plot(_part["sales_month"], _part["own_share_of_market"], lw=1.2, label=_zone)
    _ax.yaxis.set_major_formatter(lambda v, _p: f"{v:.0%}")
    _ax.set_ylabel("Tamales Inc share of market sales")
    _ax.set_title("own share of the market feed, per zone")
    _fig.legend(loc="outside right upper", fontsize=8)
    _fig
    return


@app.cell
def _(mo):
    mo.md("""
    ## Backtest errors

    Every model's rolling-origin backtest from the last training run (`ml.backtest_metrics`,
    `ml.backtest_predictions`): WAPE per horizon, and where the champion's errors fall.
    """)
    return


@app.cell
def _(con, mo):
    runs = con.execute(
        "select model_name from ml.model_runs where is_champion order by trained_at desc limit 1"
    ).fetchall()
    mo.stop(not runs, mo.md("No training run yet: run `just train`."))
    champion = runs[0][0]
    metrics = con.execute("select * from ml.backtest_metrics").pl()
    predictions = con.execute("select * from ml.backtest_predictions").pl()
    return champion, metrics, predictions


@app.cell
def _(metrics, pl):
    metrics.filter(pl.col("scope") == "horizon").pivot(
        on="scope_value", index="model", values="wape"
    ).rename(lambda c: c if c == "model" else f"WAPE h{c}").join(
        metrics.filter(pl.col("scope") == "overall").select("model", "wape", "mase", "bias"),
        on="model",
    ).sort("wape")
    return


@app.cell
def _(SALES, champion, millions, pl, plt, predictions):
    _own = predictions.filter(
        (pl.col("model") == champion) & pl.col("y_true").is_not_null()
    ).with_columns((pl.col("y_pred") - pl.col("y_true")).alias("error"))
    _by_origin = (
        _own.group_by("origin_month", "horizon")
        .agg(
            ((pl.col("error").abs().sum()) / pl.col("y_true").abs().sum()).alias("wape"),
        )
        .sort("origin_month", "horizon")
    )
    _fig, (_left, _right) = plt.subplots(1, 2, figsize=(12, 3.8), layout="constrained")
    for (_h,), _part in _by_origin.group_by(["horizon"], maintain_order=True):
        _left.plot(_part["origin_month"], _part["wape"], "o-", label=f"h={_h}")
    _left.yaxis.set_major_formatter(lambda v, _p: f"{v:.0%}")
    _left.set_ylabel("WAPE")
    _left.set_title(f"{champion}: WAPE per backtest origin")
    _left.legend(loc="upper right")
    _left.tick_params(axis="x", rotation=45)
    _positive = _own.filter(pl.col("y_true") > 0)
    _right.scatter(_positive["y_true"], _positive["error"], s=8, alpha=0.5)
    _right.axhline(0, color="grey", lw=0.8)
    _right.set_xscale("log")
    _right.set_xlabel(f"actual {SALES}")
    _right.set_ylabel("forecast - actual (MXN)")
    _right.set_title(f"{champion}: errors against the size of the series")
    millions(_right)
    _fig
    return


if __name__ == "__main__":
    app.run()
