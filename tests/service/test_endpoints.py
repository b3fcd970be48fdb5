"""Each endpoint against the trained scale-1 sample warehouse, expectations queried from it."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import polars as pl
import pytest
from litestar.testing import TestClient

from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.registry import current_version, load_current

ZONES = {"norte", "sur", "centro", "e-privados", "no-definido"}
HALF_CENT = 0.005  # amounts are served rounded to cents


def cents(value: float) -> object:
    """`value` as served: rounded to cents, so within half a cent of it."""
    return pytest.approx(value, abs=HALF_CENT)


def one(wh: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> tuple:
    row = wh.execute(sql, params or []).fetchone()
    assert row is not None
    return row


def test_health_reports_the_published_versions(
    client: TestClient, wh: duckdb.DuckDBPyConnection, api_settings: Settings
) -> None:
    before = datetime.now(UTC)
    body = client.get("/health").json()
    after = datetime.now(UTC)
    built_at, data_version, dbt_version = one(
        wh, "select built_at, data_version, dbt_version from meta.build_info"
    )
    assert body["status"] == "ok"
    assert body["data_version"] == data_version
    assert body["dbt_version"] == dbt_version
    assert body["warehouse_built_at"].startswith(built_at.isoformat())
    assert body["model_version"] == current_version(api_settings)
    assert body["model_training_data_version"] == data_version
    # healthy, with the ages of the data and model and the latest month with sales
    assert body["reasons"] == []
    built = built_at.replace(tzinfo=UTC)
    assert (before - built).total_seconds() - 0.1 <= body["data_age_seconds"]
    assert body["data_age_seconds"] <= (after - built).total_seconds() + 0.1
    trained_at = one(
        wh, "select trained_at from ml.model_runs where model_version = ?", [body["model_version"]]
    )[0].replace(tzinfo=UTC)
    assert datetime.fromisoformat(body["model_trained_at"]) == trained_at
    assert body["model_age_seconds"] <= (after - trained_at).total_seconds() + 0.1
    assert body["data_age_seconds"] >= body["model_age_seconds"] - 0.2  # built, then trained
    latest = one(
        wh,
        "select strftime(max(sales_month), '%Y-%m') from marts.fct_sales_monthly "
        "where not is_zero_filled",
    )[0]
    assert body["latest_sales_month"] == latest
    assert body["forecast_data_version"] == data_version
    assert body["forecasts_are_stale"] is False and body["model_is_stale"] is False


def test_products_match_dim_product(client: TestClient, wh: duckdb.DuckDBPyConnection) -> None:
    body = client.get("/products").json()
    rows = wh.execute("select * from marts.dim_product order by product_id").pl()
    assert [p["product_id"] for p in body] == rows["product_id"].to_list()
    assert {p["product_id"] for p in body if p["is_unknown"]} == set(
        rows.filter(pl.col("is_unknown"))["product_id"]
    )
    own = rows.filter(pl.col("is_own_brand"))["product_id"].to_list()
    assert sorted(p["product_id"] for p in body if p["is_own_brand"]) == sorted(own)


def test_product_by_id(client: TestClient, wh: duckdb.DuckDBPyConnection) -> None:
    product_id, name, code, teinvento_id = one(
        wh,
        "select product_id, product_name, tamales_inc_product_code, teinvento_id_product "
        "from marts.dim_product where tamales_inc_product_code is not null "
        "order by product_id limit 1",
    )
    body = client.get(f"/products/{product_id}").json()
    assert body["product_id"] == product_id
    assert body["product_name"] == name
    assert body["tamales_inc_product_code"] == code
    assert body["teinvento_id_product"] == teinvento_id


def test_unknown_product_is_404_with_message(client: TestClient) -> None:
    response = client.get("/products/no-such-product")
    assert response.status_code == 404
    assert response.json()["detail"] == "unknown product_id 'no-such-product': see GET /products"


def test_five_zones(client: TestClient, wh: duckdb.DuckDBPyConnection) -> None:
    body = client.get("/zones").json()
    assert {z["zone_id"] for z in body} == ZONES
    region = one(wh, "select teinvento_id_region from marts.dim_zone where zone_id = 'norte'")[0]
    norte = client.get("/zones/norte").json()
    assert norte["zone_name"] == "Norte"
    assert norte["teinvento_id_region"] == region
    missing = client.get("/zones/oeste")
    assert missing.status_code == 404
    assert "unknown zone_id 'oeste'" in missing.json()["detail"]


def test_points_of_sale_filtered(client: TestClient, wh: duckdb.DuckDBPyConnection) -> None:
    everything = client.get("/points-of-sale").json()
    assert len(everything) == one(wh, "select count(*) from marts.dim_point_of_sale")[0]
    sur = client.get("/points-of-sale", params={"zone_id": "sur"}).json()
    expected = wh.execute(
        "select point_of_sale_id from marts.dim_point_of_sale where zone_id = 'sur' "
        "order by point_of_sale_id"
    ).fetchall()
    assert [p["point_of_sale_id"] for p in sur] == [r[0] for r in expected]
    market = client.get("/points-of-sale", params={"source": "teinvento_inc"}).json()
    assert market and all(p["point_of_sale_id"].startswith("teinvento_inc:") for p in market)


def test_sales_total_and_first_page(client: TestClient, wh: duckdb.DuckDBPyConnection) -> None:
    body = client.get("/sales", params={"limit": 5}).json()
    assert body["total"] == one(wh, "select count(*) from marts.fct_sales_monthly")[0]
    assert len(body["items"]) == 5
    first = body["items"][0]
    sales = one(
        wh,
        "select sales from marts.fct_sales_monthly where source = ? and product_id = ? "
        "and zone_id = ? and strftime(sales_month, '%Y-%m') = ?",
        [first["source"], first["product_id"], first["zone_id"], first["sales_month"]],
    )[0]
    assert first["sales"] == pytest.approx(sales)
    assert (
        first["sales_month"]
        == one(wh, "select strftime(min(sales_month), '%Y-%m') from marts.fct_sales_monthly")[0]
    )


def test_sales_filters(client: TestClient, wh: duckdb.DuckDBPyConnection) -> None:
    product_id, zone_id = one(
        wh,
        "select product_id, zone_id from marts.fct_sales_monthly where source = 'tamales_inc' "
        "group by all order by count(*) desc, product_id, zone_id limit 1",
    )
    params = {
        "product_id": product_id,
        "zone_id": zone_id,
        "source": "tamales_inc",
        "from": "2019-06",
        "to": "2020-03",
    }
    body = client.get("/sales", params=params).json()
    expected = wh.execute(
        "select strftime(sales_month, '%Y-%m'), sales from marts.fct_sales_monthly "
        "where product_id = ? and zone_id = ? and source = 'tamales_inc' "
        "and sales_month between date '2019-06-01' and date '2020-03-01' order by sales_month",
        [product_id, zone_id],
    ).fetchall()
    assert body["total"] == len(expected) > 0
    assert [(r["sales_month"], r["sales"]) for r in body["items"]] == [
        (m, pytest.approx(s)) for m, s in expected
    ]


@pytest.mark.parametrize(
    ("group_by", "column"),
    [
        ("zone", "zone_id"),
        ("product", "product_id"),
        ("source", "source"),
        ("month", "sales_month"),
    ],
)
def test_sales_grouped_sums(
    client: TestClient, wh: duckdb.DuckDBPyConnection, group_by: str, column: str
) -> None:
    body = client.get("/sales", params={"group_by": group_by, "limit": 1000}).json()
    key = column
    expr = "strftime(sales_month, '%Y-%m')" if column == "sales_month" else column
    expected = {
        (source, k): v
        for source, k, v in wh.execute(
            f"select source, {expr}, sum(sales) from marts.fct_sales_monthly group by all"
        ).fetchall()
    }
    assert body["group_by"] == group_by
    assert body["total"] == len(expected)
    got = {(row["source"], row[key]): row["sales"] for row in body["items"]}
    assert got.keys() == expected.keys()
    for k, v in expected.items():
        assert got[k] == pytest.approx(v)
    # the two sources are never summed together: every group names its source
    assert {row["source"] for row in body["items"]} == {"tamales_inc", "teinvento_inc"}
    # columns grouped away are null
    others = {"product_id", "zone_id", "sales_month"} - {key}
    assert all(row[o] is None for row in body["items"] for o in others)
    if group_by == "zone":
        assert {k for _, k in got} <= ZONES


def test_sales_sorted_by_sales_desc(client: TestClient) -> None:
    body = client.get("/sales", params={"group_by": "product", "sort": "sales", "order": "desc"})
    values = [r["sales"] for r in body.json()["items"]]
    assert values == sorted(values, reverse=True)


def test_sales_paging_covers_every_row_once(
    client: TestClient, wh: duckdb.DuckDBPyConnection
) -> None:
    total = one(wh, "select count(*) from marts.fct_sales_monthly where zone_id = 'sur'")[0]
    seen = []
    for offset in range(0, total + 100, 100):
        page = client.get("/sales", params={"zone_id": "sur", "offset": offset}).json()
        assert page["total"] == total
        seen += [(r["source"], r["product_id"], r["sales_month"]) for r in page["items"]]
    assert len(seen) == len(set(seen)) == total
    past_end = client.get("/sales", params={"zone_id": "sur", "offset": total + 5}).json()
    assert past_end["items"] == [] and past_end["total"] == total


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"from": "2020-13"}, "'from'"),
        ({"to": "20-01"}, "'to'"),
        ({"from": "2020-05", "to": "2020-01"}, "'from'"),
        ({"group_by": "store"}, "'group_by'"),
        ({"limit": "0"}, "'limit'"),
        ({"limit": "many"}, "'limit'"),
        ({"offset": "-1"}, "'offset'"),
        ({"source": "erp"}, "'source'"),
        ({"sort": "zone_id; drop table x"}, "'sort'"),
    ],
)
def test_sales_bad_parameters_are_400_naming_them(
    client: TestClient, params: dict[str, str], parameter: str
) -> None:
    response = client.get("/sales", params=params)
    assert response.status_code == 400
    assert parameter in response.json()["detail"]


def test_sales_from_after_to_says_why(client: TestClient) -> None:
    response = client.get("/sales", params={"from": "2020-05", "to": "2020-01"})
    assert response.json()["detail"] == "invalid parameter 'from': 2020-05 is after to=2020-01"


def test_sales_unknown_filter_id_is_404(client: TestClient) -> None:
    response = client.get("/sales", params={"product_id": "x' or '1'='1"})
    assert response.status_code == 404
    assert "unknown product_id" in response.json()["detail"]


def test_features_for_a_month(client: TestClient, wh: duckdb.DuckDBPyConnection) -> None:
    month = one(wh, "select strftime(max(sales_month), '%Y-%m') from marts.sales_features")[0]
    body = client.get("/features", params={"month": month, "limit": 1000}).json()
    expected = wh.execute(
        "select * from marts.sales_features where strftime(sales_month, '%Y-%m') = ? "
        "order by source, product_id, zone_id",
        [month],
    ).pl()
    assert body["total"] == expected.height > 0
    assert [r["series_id"] for r in body["items"]] == expected["series_id"].to_list()
    first, want = body["items"][0], expected.row(0, named=True)
    # every column of the mart is served, under its own name
    assert list(first) == expected.columns
    for column in (
        "sales",
        "sales_lag_1",
        "rolling_mean_3",
        "month_weight",
        "source_yoy_ratio",
        "months_of_history",
    ):
        if want[column] is None:
            assert first[column] is None
        elif column in ("sales", "sales_lag_1", "rolling_mean_3"):  # amounts: to cents
            assert first[column] == cents(want[column])
        else:
            assert first[column] == pytest.approx(want[column])
    assert (
        all(r["target_sales_next_month"] is None for r in body["items"])
        or month
        != one(wh, "select strftime(max(sales_month), '%Y-%m') from marts.fct_sales_monthly")[0]
    )


def test_features_of_one_series(client: TestClient, wh: duckdb.DuckDBPyConnection) -> None:
    series_id, source, product_id, zone_id, n = one(
        wh,
        "select series_id, source, product_id, zone_id, count(*) from marts.sales_features "
        "group by all order by series_id limit 1",
    )
    body = client.get(
        "/features", params={"source": source, "product_id": product_id, "zone_id": zone_id}
    ).json()
    assert body["total"] == n
    months = [r["sales_month"] for r in body["items"]]
    assert months == sorted(months) and {r["series_id"] for r in body["items"]} == {series_id}


def test_forecasts_match_ml_forecasts(client: TestClient, wh: duckdb.DuckDBPyConnection) -> None:
    body = client.get("/forecasts", params={"horizon": 1, "limit": 1000}).json()
    expected = wh.execute(
        "select source, product_id, zone_id, level, yhat, yhat_lower, yhat_upper, "
        "model_version from ml.forecasts where horizon = 1"
    ).fetchall()
    n_series = len({r[:3] for r in expected})
    assert body["total"] == n_series == len(body["items"]) > 0
    by_key = {(r[0], r[1], r[2], round(r[3], 2)): r for r in expected}
    for item in body["items"]:
        key = (item["source"], item["product_id"], item["zone_id"])
        assert item["horizon"] == 1
        assert item["yhat"] == cents(by_key[(*key, 0.8)][4])
        assert item["yhat_lower_80"] == cents(by_key[(*key, 0.8)][5])
        assert item["yhat_upper_95"] == cents(by_key[(*key, 0.95)][6])
        assert item["model_version"] == by_key[(*key, 0.8)][7]
        assert item["yhat_lower_95"] <= item["yhat_lower_80"] <= item["yhat"]
        assert item["yhat"] <= item["yhat_upper_80"] <= item["yhat_upper_95"]


def test_forecasts_filtered_by_series(client: TestClient, wh: duckdb.DuckDBPyConnection) -> None:
    product_id, zone_id, n = one(
        wh,
        "select product_id, zone_id, count(distinct (source, horizon)) from ml.forecasts "
        "group by all order by product_id, zone_id limit 1",
    )
    body = client.get("/forecasts", params={"product_id": product_id, "zone_id": zone_id}).json()
    assert body["total"] == n
    assert {(r["product_id"], r["zone_id"]) for r in body["items"]} == {(product_id, zone_id)}


def test_prediction_matches_the_registry_model(
    client: TestClient, wh: duckdb.DuckDBPyConnection, api_settings: Settings
) -> None:
    source, product_id, zone_id, last = one(
        wh,
        "select source, product_id, zone_id, max(sales_month) from marts.sales_features "
        "where source = 'tamales_inc' group by all order by product_id, zone_id limit 1",
    )
    next_month = f"{last.year + last.month // 12}-{last.month % 12 + 1:02d}"
    request = {"product_id": product_id, "zone_id": zone_id, "source": source, "month": next_month}
    response = client.post("/predictions", json=request)
    assert response.status_code == 200, response.text
    body = response.json()
    features = wh.execute(
        "select * from marts.sales_features where source = ? and product_id = ? "
        "and zone_id = ? and sales_month = ?",
        [source, product_id, zone_id, last],
    ).pl()
    model = load_current(api_settings)
    assert model is not None
    expected = model.predict(features).row(0, named=True)
    assert body["model_version"] == model.version
    assert body["features_month"] == f"{last:%Y-%m}" and body["sales_month"] == next_month
    for column in ("yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95"):
        assert body[column] == round(expected[column], 2)
    assert body["yhat_lower_95"] <= body["yhat"] <= body["yhat_upper_95"]
    assert body["actual_sales"] is None  # the month after the last data is not known yet
    assert math.isfinite(body["yhat"])


def test_prediction_for_a_known_month_carries_the_actual(
    client: TestClient, wh: duckdb.DuckDBPyConnection
) -> None:
    source, product_id, zone_id, month, actual = one(
        wh,
        "select source, product_id, zone_id, strftime(sales_month + interval 1 month, '%Y-%m'), "
        "target_sales_next_month from marts.sales_features "
        "where target_sales_next_month is not null order by series_id, sales_month desc limit 1",
    )
    body = client.post(
        "/predictions",
        json={"product_id": product_id, "zone_id": zone_id, "source": source, "month": month},
    ).json()
    assert body["actual_sales"] == pytest.approx(actual)


def test_prediction_without_features_is_404(client: TestClient) -> None:
    request = {
        "product_id": "tamal-mix-dulce-regular",
        "zone_id": "norte",
        "source": "tamales_inc",
        "month": "1999-01",
    }
    response = client.post("/predictions", json=request)
    assert response.status_code == 404
    assert (
        "no features for tamales_inc:tamal-mix-dulce-regular:norte in 1998-12"
        in (response.json()["detail"])
    )


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        (
            {"product_id": "tamal-mix-dulce-regular", "zone_id": "norte", "source": "tamales_inc"},
            "month",
        ),
        (
            {"product_id": "x", "zone_id": "norte", "source": "tamales_inc", "month": "2020-8"},
            "'month'",
        ),
        ({"product_id": "x", "zone_id": "norte", "source": "pos", "month": "2020-08"}, "'source'"),
    ],
)
def test_prediction_bad_body_is_400(client: TestClient, body: dict, parameter: str) -> None:
    response = client.post("/predictions", json=body)
    assert response.status_code == 400
    assert parameter in response.json()["detail"]


def test_current_model(
    client: TestClient, wh: duckdb.DuckDBPyConnection, api_settings: Settings
) -> None:
    body = client.get("/models/current").json()
    assert body["version"] == current_version(api_settings)
    model_name, trained_version = one(
        wh,
        "select model_name, training_data_version from ml.model_runs where model_version = ?",
        [body["version"]],
    )
    assert body["model_name"] == model_name
    assert body["training_data_version"] == trained_version
    expected = dict(
        wh.execute("select model, wape from ml.backtest_metrics where scope = 'overall'").fetchall()
    )
    got = {m["model"]: m["wape"] for m in body["backtest"]}
    assert got.keys() == expected.keys() and "seasonal_naive" in got
    assert got["seasonal_naive"] == pytest.approx(expected["seasonal_naive"])
    assert body["metrics"]


def test_undeclared_method_is_405_with_allow(client: TestClient) -> None:
    response = client.put("/sales")
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]
    assert response.json()["detail"] == "Method Not Allowed"


@pytest.mark.parametrize("group_by", ["zone,month", "month,product", "source,zone"])
def test_sales_grouped_by_several_dimensions(
    client: TestClient, wh: duckdb.DuckDBPyConnection, group_by: str
) -> None:
    columns = {"month": "sales_month", "product": "product_id", "zone": "zone_id"}
    keys = [columns[d] for d in group_by.split(",") if d != "source"]
    exprs = ", ".join("strftime(sales_month, '%Y-%m')" if k == "sales_month" else k for k in keys)
    expected = wh.execute(
        f"select source, {exprs}, sum(sales), count(*) from marts.fct_sales_monthly "
        f"group by all order by all"
    ).fetchall()
    body = client.get("/sales", params={"group_by": group_by, "limit": 1000}).json()
    assert body["group_by"] == group_by
    assert body["total"] == len(expected) == len(body["items"])
    got = [
        (r["source"], *(r[k] for k in keys), r["sales"], r["n_series_months"])
        for r in body["items"]
    ]
    # ordered by source, then the dimensions in the order given
    assert [g[: 1 + len(keys)] for g in got] == [e[: 1 + len(keys)] for e in expected]
    for row, want in zip(got, expected, strict=True):
        assert row[-2] == cents(want[-2]) and row[-1] == want[-1]
    others = {"product_id", "zone_id", "sales_month"} - set(keys)
    assert all(r[o] is None for r in body["items"] for o in others)


def test_sales_dimension_named_twice_is_400(client: TestClient) -> None:
    response = client.get("/sales", params={"group_by": "zone,month,zone"})
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "invalid parameter 'group_by': 'zone' is named twice in zone,month,zone"
    )


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/sales", [("group_by", "zone"), ("group_by", "month")], "group_by"),
        ("/sales", [("limit", "5"), ("zone_id", "sur"), ("limit", "5")], "limit"),
        ("/features", [("month", "2020-01"), ("month", "2020-02")], "month"),
        ("/forecasts", [("horizon", "1"), ("horizon", "2")], "horizon"),
        ("/points-of-sale", [("source", "tamales_inc"), ("source", "teinvento_inc")], "source"),
        ("/products", [("x", "1"), ("x", "1")], "x"),
    ],
)
def test_repeated_parameter_is_400_naming_it(
    client: TestClient, path: str, params: list[tuple[str, str]], name: str
) -> None:
    """Every parameter takes one value: a second one is refused, never silently dropped."""
    response = client.get(path, params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["detail"].startswith(f"invalid parameter '{name}': given 2 times")
    assert body["extra"] == [{"key": name, "source": "query"}]
    if name == "group_by":
        assert "group_by=zone,month" in body["detail"]


def test_forecast_horizon_outside_the_published_ones_is_400(
    client: TestClient, wh: duckdb.DuckDBPyConnection
) -> None:
    first, last = one(wh, "select min(horizon), max(horizon) from ml.forecasts")
    for horizon in (first, last):
        assert client.get("/forecasts", params={"horizon": horizon}).json()["total"] > 0
    response = client.get("/forecasts", params={"horizon": last + 1})
    assert response.status_code == 400
    assert response.json()["detail"] == (
        f"invalid parameter 'horizon': {last + 1} is outside the published forecasts' "
        f"horizons {first}-{last}"
    )


def _numbers(value: object, name: str = "") -> list[tuple[str, Decimal]]:
    """Every (field, number) of a JSON document parsed with `parse_float=Decimal`."""
    if isinstance(value, dict):
        return [n for key, item in value.items() for n in _numbers(item, key)]
    if isinstance(value, list):
        return [n for item in value for n in _numbers(item, name)]
    return [(name, value)] if isinstance(value, Decimal) else []


def _has_more_than_cents(value: Decimal) -> bool:
    return value != value.quantize(Decimal("0.01"))


MONEY = {
    "sales",
    "yhat",
    "yhat_lower_80",
    "yhat_upper_80",
    "yhat_lower_95",
    "yhat_upper_95",
    "actual_sales",
    "target_sales_next_month",
    "sales_lag_1",
    "rolling_mean_3",
    "rolling_std_12",
    "yoy_change",
    "market_category_sales",
}


def test_money_is_rounded_to_cents_in_json(
    client: TestClient, wh: duckdb.DuckDBPyConnection
) -> None:
    """Amounts carry no float noise (`494565.73000000004`): sales, sums, forecasts, bounds,
    predictions and the feature mart's amounts have at most two decimals in the JSON text."""
    source, product_id, zone_id, month = one(
        wh,
        "select source, product_id, zone_id, strftime(max(sales_month), '%Y-%m') "
        "from marts.sales_features where target_sales_next_month is not null "
        "group by all order by all limit 1",
    )
    prediction = {"product_id": product_id, "zone_id": zone_id, "source": source, "month": month}
    texts = [
        client.get("/sales", params={"limit": 1000}).text,
        client.get("/sales", params={"group_by": "zone,month", "limit": 1000}).text,
        client.get("/forecasts", params={"limit": 1000}).text,
        client.get("/features", params={"limit": 1000}).text,
        client.post("/predictions", json=prediction).text,
    ]
    amounts = [
        (name, number)
        for text in texts
        for name, number in _numbers(json.loads(text, parse_float=Decimal))
        if name in MONEY
    ]
    assert {name for name, _ in amounts} == MONEY  # every kind of amount was looked at
    assert [f"{n}={v}" for n, v in amounts if _has_more_than_cents(v)] == []
    # the noise is real before rounding: sums of cents in binary floating point
    raw = wh.execute(
        "select sum(sales) from marts.fct_sales_monthly group by source, zone_id, sales_month"
    ).fetchall()
    assert any(_has_more_than_cents(Decimal(repr(s))) for (s,) in raw)
    # ratios are not amounts: served as stored
    shares = [
        v
        for n, v in _numbers(json.loads(texts[3], parse_float=Decimal))
        if n == "own_share_of_market"
    ]
    assert any(_has_more_than_cents(v) for v in shares)
