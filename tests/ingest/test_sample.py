"""Tests of the sample container generator against the raw-data contract (RAW_DATA.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from ingest.sample import DEFAULT_VERSIONS, generate
from ingest.sample.__main__ import main

REPO_ROOT = Path(__file__).resolve().parents[2]
V1, V2 = DEFAULT_VERSIONS
TI = "tamales_inc/ventas_mensuales_tamales_inc/mx"
TE = "teinvento_inc/ventas_reportadas_mercado_tamales/mx"
ZONE_FOLDERS = {"Centro": "Centro", "E._Privados": "E. Privados", "Norte": "Norte", "Sur": "Sur"}
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
OWN_COLS = [
    "year",
    "month",
    "country",
    "calorie_category",
    "flavor",
    "zone",
    "product_code",
    "product_name",
    "sales",
]
FACT_COLS = ["year", "month", "sales", "id_region", "id_product"]
PRODUCT_COLS = ["id_product", "calorie_category", "product", "product_brand", "producer"]
REGION_COLS = ["id_region", "country", "region"]
PART_RE = re.compile(
    r"^part-(\d{5})-([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12})-c000\.csv$"
)
UNKNOWN_ID = 807453851648


def blobs(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


def read_text_csv(paths: list[Path], columns: list[str]) -> pl.DataFrame:
    """Read headerless CSV files as text columns (empty fields -> null), skipping empty files."""
    frames = [
        pl.read_csv(p, has_header=False, new_columns=columns, infer_schema=False)
        for p in paths
        if p.stat().st_size
    ]
    return pl.concat(frames)


def own_lines(root: Path, version: str) -> pl.DataFrame:
    paths = sorted((root / TI / version / "csv").glob("*/*.csv"))
    df = read_text_csv(paths, OWN_COLS)
    return df.with_columns(pl.col("sales").cast(pl.Float64), pl.col("year").cast(pl.Int32))


def table(root: Path, version: str, name: str, columns: list[str]) -> pl.DataFrame:
    return read_text_csv(sorted((root / TE / version / name).glob("part-*.csv")), columns)


def facts(root: Path, version: str) -> pl.DataFrame:
    return table(root, version, "fact_table", FACT_COLS).with_columns(
        pl.col("sales").cast(pl.Float64),
        pl.col("year").cast(pl.Int32),
        pl.col("id_region").cast(pl.Int64),
        pl.col("id_product").cast(pl.Int64),
    )


def key_totals(df: pl.DataFrame) -> dict[tuple[str, ...], float]:
    grouped = df.group_by("product_code", "zone", "year", "month").agg(pl.col("sales").sum())
    return {
        (r["product_code"], r["zone"], str(r["year"]), r["month"]): r["sales"]
        for r in grouped.iter_rows(named=True)
    }


@pytest.fixture(scope="module")
def container(sample_container: Path) -> Path:
    """The shared scale-1 sample (read only)."""
    return sample_container


# -- layout ---------------------------------------------------------------------------------------


def test_layout_and_blob_names(container: Path) -> None:
    names = set(blobs(container))
    for version in DEFAULT_VERSIONS:
        for folder in ZONE_FOLDERS:
            zone_files = [n for n in names if n.startswith(f"{TI}/{version}/csv/{folder}/")]
            assert zone_files == [
                f"{TI}/{version}/csv/{folder}/ventas_mensuales_{folder}_{version}.csv"
            ]
        uuids = set()
        for name, n_parts in {"fact_table": 5, "product_dim": 6, "region_dim": 5}.items():
            prefix = f"{TE}/{version}/{name}/"
            files = sorted(n[len(prefix) :] for n in names if n.startswith(prefix))
            assert files[0] == "_SUCCESS"
            parts = [PART_RE.match(f) for f in files[1:]]
            assert all(parts), files
            assert [int(m.group(1)) for m in parts] == list(range(n_parts))
            table_uuids = {m.group(2) for m in parts}
            assert len(table_uuids) == 1  # one Spark job per table
            uuids |= table_uuids
        assert len(uuids) == 3
    other = [n for n in names if not n.startswith((f"{TI}/", f"{TE}/"))]
    assert other == []
    assert len(names) == 2 * (4 + 5 + 6 + 5 + 3)


def test_empty_and_tiny_parts_and_success_marker(container: Path) -> None:
    for version in DEFAULT_VERSIONS:
        for name in ("fact_table", "product_dim", "region_dim"):
            folder = container / TE / version / name
            assert (folder / "_SUCCESS").stat().st_size == 0
            sizes = [p.stat().st_size for p in folder.glob("part-*.csv")]
            lines = [len(p.read_bytes().splitlines()) for p in folder.glob("part-*.csv")]
            assert 0 in sizes, name  # zero-byte part files
            if name != "product_dim":
                assert any(1 <= n <= 2 for n in lines), name


def test_files_are_headerless_utf8_lf_and_unquoted(container: Path) -> None:
    for name, path in blobs(container).items():
        data = path.read_bytes()
        if not data:
            continue
        text = data.decode("utf-8")
        assert "\r" not in text and text.endswith("\n"), name
        assert '"' not in text, name
        first = text.split("\n", 1)[0].split(",")[0]
        assert first.isdigit(), f"{name} starts with a header? {first!r}"
    dims = "".join(
        p.read_text("utf-8") for p in (container / TE / V1 / "product_dim").glob("*.csv")
    )
    assert "ñ" in dims


# -- tamales_inc ----------------------------------------------------------------------------------


def test_tamales_inc_rows_and_values(container: Path) -> None:
    df = own_lines(container, V1)
    assert df.height == 5467
    for folder, zone in ZONE_FOLDERS.items():
        path = container / TI / V1 / "csv" / folder / f"ventas_mensuales_{folder}_{V1}.csv"
        n = len(path.read_bytes().splitlines())
        assert 1250 <= n <= 1500, (folder, n)
        assert set(read_text_csv([path], OWN_COLS)["zone"]) == {zone}
    assert set(df["country"]) == {"Mexico"}
    assert set(df["zone"]) == set(ZONE_FOLDERS.values())
    assert set(df["flavor"]) == {"Cajeta", "Dulce", "Mole", "Arroz", "Verde"}
    assert set(df["product_name"]) == {"Tamal mix", "Atole mix"}
    assert set(df["month"]) == set(MONTHS)
    months = df.select("year", "month").unique()
    assert months.height == 20  # Jan 2019 - Aug 2020
    assert months.filter(pl.col("year") == 2020)["month"].to_list() != []
    assert set(months.filter(pl.col("year") == 2020)["month"]) == set(MONTHS[:8])
    assert set(df["year"]) == {2019, 2020}


def test_product_codes(container: Path) -> None:
    df = own_lines(container, V1)
    codes = df.group_by("product_code").agg(
        pl.col("product_name").unique(), pl.col("flavor").unique(), pl.len()
    )
    assert codes.height == 5
    assert all(len(x) == 1 for x in codes["product_name"]) and all(
        len(x) == 1 for x in codes["flavor"]
    )
    by_code = {r["product_code"]: r for r in codes.iter_rows(named=True)}
    assert by_code["206050084"]["product_name"] == ["Tamal mix"]
    assert by_code["206050084"]["flavor"] == ["Dulce"]
    assert by_code["206050084"]["len"] == 2573
    assert by_code["ABYT055818"]["product_name"] == ["Atole mix"]
    assert by_code["ABYT055818"]["flavor"] == ["Cajeta"]
    assert any(c.isdigit() for c in by_code) and any(not c.isdigit() for c in by_code)
    assert any(c.isdigit() and c.startswith("0") for c in by_code)  # must stay text
    names = {(r["product_name"][0], r["flavor"][0]) for r in by_code.values()}
    assert names == {
        ("Tamal mix", "Dulce"),
        ("Tamal mix", "Verde"),
        ("Tamal mix", "Mole"),
        ("Atole mix", "Cajeta"),
        ("Atole mix", "Arroz"),
    }


def test_calorie_categories(container: Path) -> None:
    df = own_lines(container, V1)
    counts = dict(df.group_by("calorie_category").len().iter_rows())
    assert counts == {"Regular": 5449, "Low-Calorie": 18}
    low = df.filter(pl.col("calorie_category") == "Low-Calorie")
    assert set(low["flavor"]) == {"Mole"}
    mole = df.filter(pl.col("flavor") == "Mole")
    assert (mole["calorie_category"] == "Regular").sum() > mole.height / 2


def test_many_unsorted_lines_per_key(container: Path) -> None:
    df = own_lines(container, V1)
    per_key = df.group_by("product_code", "zone", "year", "month").len()
    assert per_key.height == 5 * 4 * 20
    assert 12 <= per_key["len"].mean() <= 16
    assert per_key["len"].min() >= 3
    month_no = df["year"] * 12 + df["month"].replace_strict(MONTHS, list(range(12)))
    assert not month_no.is_sorted() and not month_no.is_sorted(descending=True)
    assert not df["product_code"].is_sorted()


def test_sales_line_statistics(container: Path) -> None:
    df = own_lines(container, V1)
    sales = df["sales"]
    assert 11_000 <= sales.mean() <= 15_500
    assert 1.5 <= sales.median() <= 4.0
    assert 1.0e6 <= sales.max() <= 2.5e6
    assert (sales == 0).sum() >= 20
    returns = sales.filter(sales < -1e-6)
    assert returns.len() >= 50
    assert -1_700 <= returns.min() <= -800
    noise = sales.filter((sales != 0) & (sales.abs() < 1e-9))
    assert noise.len() >= 10
    assert (noise > 0).any() and (noise < 0).any()
    raw = "".join(p.read_text("utf-8") for p in (container / TI / V1 / "csv").glob("*/*.csv"))
    assert re.search(r",-\d(\.\d+)?e-1\d\n", raw)  # written like -5.86e-14 (Python repr)
    assert re.search(r",\d(\.\d+)?e-1\d\n", raw)
    assert ",0.0\n" in raw


def test_sales_have_learnable_structure(container: Path) -> None:
    df = own_lines(container, V1).with_columns(
        m=pl.col("month").replace_strict(MONTHS, list(range(1, 13)), return_dtype=pl.Int32)
    )
    monthly = df.group_by("year", "m").agg(pl.col("sales").sum()).sort("year", "m")
    total = {(r["year"], r["m"]): r["sales"] for r in monthly.iter_rows(named=True)}
    # spring-2020 shock then partial recovery
    assert total[(2020, 4)] < 0.75 * total[(2019, 4)]
    assert total[(2020, 4)] < total[(2020, 8)]
    # yearly seasonality: the Candelaria peak in February beats June in both years
    assert total[(2019, 2)] > 1.2 * total[(2019, 6)]
    assert total[(2020, 2)] > 1.2 * total[(2020, 6)]
    # zones differ in level, consistently over time
    by_zone = df.group_by("zone", "year").agg(pl.col("sales").sum())
    share = {(r["zone"], r["year"]): r["sales"] for r in by_zone.iter_rows(named=True)}
    assert share[("Centro", 2019)] > share[("E. Privados", 2019)] * 2
    assert share[("Centro", 2020)] > share[("E. Privados", 2020)] * 2


# -- teinvento_inc --------------------------------------------------------------------------------


def test_fact_table(container: Path) -> None:
    fact = facts(container, V1)
    assert fact.height == 338
    months = fact.select("year", "month").unique()
    assert months.height == 32  # Jan 2018 - Aug 2020
    assert set(fact["year"]) == {2018, 2019, 2020}
    assert set(fact["month"]) == set(MONTHS)
    assert fact["sales"].null_count() == 12
    assert 7.0e6 <= fact["sales"].mean() <= 10.5e6
    assert 28e6 <= fact["sales"].max() <= 42e6
    assert fact["sales"].min() == 0.05
    series = fact.group_by("id_product", "id_region").len()
    assert 9 <= series.height <= 13
    assert series.height < 12 * 5
    unknown = fact.filter(pl.col("id_product") == UNKNOWN_ID)
    assert unknown.height == 56
    assert fact.filter(pl.col("id_region") == 996432412672).height > 0  # empty-name region


def test_product_dim(container: Path) -> None:
    dim = table(container, V1, "product_dim", PRODUCT_COLS)
    assert dim.height == 12
    assert dim["id_product"].n_unique() == 12
    assert set(dim["calorie_category"]) == {"Regular", "Zero", "Light"}
    assert set(dim["producer"]) == {"Tamales Inc", "Tamaleria Factory", "OTROS FABRICANTES"}
    named = sorted(p for p in dim["product"].to_list() if p is not None)
    assert named == sorted(
        [
            "Tamal mix Dulce",
            "Tamal mix Verde",
            "Tamal mix Mole",
            "Tamal mix Mole",
            "Atole mix Arroz",
            "Atole mix Cajeta",
            "Atoles doña chona - Cajeta",
            "Champurrado Ramirez",
            "Tamal fitnes - Dulce",
            "Tamales doña chona - Chocolate",
            "Tameles doña chona -Piña",
        ]
    )
    own = dim.filter(pl.col("producer") == "Tamales Inc")
    assert own.height == 6 and own["product"].null_count() == 0
    mole = dim.filter(pl.col("product") == "Tamal mix Mole")
    assert set(mole["calorie_category"]) == {"Light", "Regular"}
    assert dim.filter(pl.col("product") == "Tamal fitnes - Dulce")[
        "calorie_category"
    ].to_list() == ["Zero"]
    unknown = dim.filter(pl.col("product").is_null())
    assert unknown.height == 1
    assert unknown["product_brand"].to_list() == [None]
    assert int(unknown["id_product"][0]) == UNKNOWN_ID
    fact = facts(container, V1)
    assert set(fact["id_product"]) <= {int(x) for x in dim["id_product"]}


def test_region_dim_and_spark_ids(container: Path) -> None:
    rows = sorted(
        line
        for p in (container / TE / V1 / "region_dim").glob("part-*.csv")
        for line in p.read_text("utf-8").splitlines()
    )
    assert rows == sorted(
        [
            "446676598784,Mexico,Norte",
            "850403524608,Mexico,Sur",
            "893353197568,Mexico,Centro",
            "996432412672,Mexico,",
            "1151051235328,Mexico,E. Privados",
        ]
    )
    products = {int(x) for x in table(container, V1, "product_dim", PRODUCT_COLS)["id_product"]}
    regions = {int(r.split(",")[0]) for r in rows}
    assert all(i % (1 << 33) == 0 for i in products | regions)
    assert 996432412672 in products and 996432412672 in regions


def test_market_follows_own_sales(container: Path) -> None:
    own = own_lines(container, V1).filter(
        (pl.col("product_code") == "206050084") & (pl.col("zone") == "Centro")
    )
    own_monthly = own.group_by("year", "month").agg(own=pl.col("sales").sum())
    dim = table(container, V1, "product_dim", PRODUCT_COLS)
    dulce = int(dim.filter(pl.col("product") == "Tamal mix Dulce")["id_product"][0])
    market = facts(container, V1).filter(
        (pl.col("id_product") == dulce) & (pl.col("id_region") == 893353197568)
    )
    joined = own_monthly.join(market, on=["year", "month"]).drop_nulls("sales")
    assert joined.height >= 15
    corr = np.corrcoef(joined["own"].to_numpy(), joined["sales"].to_numpy())[0, 1]
    assert corr > 0.8
    assert (joined["sales"] > 5 * joined["own"]).all()  # the market is on a larger scale


# -- versions, determinism, scale ----------------------------------------------------------------


def test_second_version_adds_a_month_and_restates_a_few_values(container: Path) -> None:
    v1, v2 = own_lines(container, V1), own_lines(container, V2)
    new = v2.filter((pl.col("year") == 2020) & (pl.col("month") == "Sep"))
    assert new.height > 0 and v2.height == v1.height + new.height
    assert v1.filter((pl.col("year") == 2020) & (pl.col("month") == "Sep")).height == 0
    t1, t2 = key_totals(v1), key_totals(v2)
    assert set(t2) - set(t1) == {k for k in t2 if k[2:] == ("2020", "Sep")}
    changed = [k for k in t1 if abs(t1[k] - t2[k]) > 1e-6 * max(1.0, abs(t1[k]))]
    assert 1 <= len(changed) <= 8
    f1, f2 = facts(container, V1), facts(container, V2)
    assert (
        f2.height - f1.height == f2.filter(pl.col("month") == "Sep", pl.col("year") == 2020).height
    )
    assert f2.filter(pl.col("month") == "Sep", pl.col("year") == 2020).height >= 9
    joined = f1.join(f2, on=["year", "month", "id_region", "id_product"], suffix="_v2")
    assert joined.height == f1.height
    diffs = joined.filter(pl.col("sales").ne_missing(pl.col("sales_v2")))
    assert 1 <= diffs.height <= 5


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path, container: Path) -> None:
    again = tmp_path / "again"
    generate(again, scale=1, seed=42)
    first, second = blobs(container), blobs(again)
    assert first.keys() == second.keys()
    assert all(first[k].read_bytes() == second[k].read_bytes() for k in first)
    other = tmp_path / "other"
    generate(other, scale=1, seed=7)
    third = blobs(other)
    own = f"{TI}/{V1}/csv/Centro/ventas_mensuales_Centro_{V1}.csv"
    assert third[own].read_bytes() != first[own].read_bytes()
    assert own_lines(other, V1).height == 5467  # counts are part of the contract, not the seed


def test_scale_multiplies_lines_and_keeps_monthly_totals(tmp_path: Path, container: Path) -> None:
    summary = generate(tmp_path / "x3", scale=3, versions=[V1])
    assert summary.rows("tamales_inc") == 3 * 5467
    assert summary.rows("teinvento_inc", table="fact_table") == 338
    x3 = own_lines(tmp_path / "x3", V1)
    x1 = own_lines(container, V1)
    assert x3.height == 3 * x1.height
    assert (x3["calorie_category"] == "Low-Calorie").sum() == 3 * 18
    t1, t3 = key_totals(x1), key_totals(x3)
    assert t1.keys() == t3.keys()
    for key, value in t1.items():
        assert t3[key] == pytest.approx(value, rel=1e-9, abs=1e-6), key
    base = blobs(container)
    for name, path in blobs(tmp_path / "x3").items():
        if name.startswith(TE):
            continue
        assert len(path.read_bytes().splitlines()) == 3 * len(base[name].read_bytes().splitlines())


def test_summary_counts_every_blob(tmp_path: Path) -> None:
    summary = generate(tmp_path / "c", versions=[V1])
    on_disk = blobs(tmp_path / "c")
    assert set(summary.blob_rows) == set(on_disk)
    for name, rows in summary.blob_rows.items():
        assert rows == len(on_disk[name].read_bytes().splitlines()), name
    assert summary.rows("tamales_inc", V1) == 5467
    assert summary.rows("teinvento_inc", V1, "product_dim") == 12
    assert summary.rows("teinvento_inc", V1, "region_dim") == 5
    assert f"{summary.n_blobs} blobs" in summary.line()


# -- writing safely -------------------------------------------------------------------------------


def test_refuses_non_empty_out_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["--out", str(out), "--versions", V1]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(out) in err and "--force" in err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert main(["--out", str(out), "--versions", V1, "--force"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and printed[0].startswith("sample: 23 blobs")
    assert not (out / "keep.txt").exists()
    assert len(blobs(out)) == 23
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temp dirs left behind


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--versions", "2020-08-01"], "2020-08-01"),
        (["--versions", "20201301"], "20201301"),
        (["--versions", "20170101"], "20170101"),
        (["--scale", "0"], "scale"),
    ],
)
def test_bad_arguments_fail_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    out = tmp_path / "out"
    assert main(["--out", str(out), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sample: error: ") and "\n" not in err and message in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_cli_runs_as_a_module(tmp_path: Path) -> None:
    out = tmp_path / "c"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ingest.sample",
            "--out",
            str(out),
            "--versions",
            "20200801,20200901",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("sample: 46 blobs") and "tamales_inc 11," in proc.stdout
    assert len(blobs(out)) == 46


def test_failed_generation_leaves_the_old_folder_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest.sample import writer

    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("previous container")

    def broken(root: Path, *args: object) -> dict[str, int]:
        (root / "half.csv").write_text("2019,Jan\n")
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer, "_generate_into", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        generate(out, force=True)
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_upload_needs_a_target(tmp_path: Path) -> None:
    from ingest.sample import upload

    with pytest.raises(ValueError, match="blob_url"):
        upload(tmp_path)
    with pytest.raises(ValueError, match="either"):
        upload(tmp_path, blob_url="http://127.0.0.1:1/acct/c?sig=x", container="c")
    with pytest.raises(FileNotFoundError, match="missing"):
        upload(tmp_path / "missing", container="c", connection_string="x")


# -- more series (`--series N`) -------------------------------------------------------------------


def test_more_series_add_erp_products_and_keep_the_default_bytes(
    container: Path, tmp_path: Path
) -> None:
    from ingest.sample.extra import DEFAULT_SERIES

    bigger = tmp_path / "bigger"
    generate(bigger, scale=1, seed=42, series=DEFAULT_SERIES + 6)
    default_blobs, bigger_blobs = blobs(container), blobs(bigger)
    assert set(default_blobs) == set(bigger_blobs)
    for name, path in default_blobs.items():
        before, after = path.read_bytes(), bigger_blobs[name].read_bytes()
        if "/csv/" in name:  # the default lines come first, unchanged
            assert after.startswith(before) and len(after) > len(before), name
        else:
            assert after == before, name
    for version in DEFAULT_VERSIONS:
        lines = own_lines(bigger, version)
        extra = lines.filter(pl.col("product_code").str.starts_with("X"))
        keys = extra.select("product_code", "zone").unique()
        assert keys.height == 6  # one product in four zones, one in two
        assert sorted(extra["product_code"].unique().to_list()) == ["X000001", "X000002"]
        last = f"{version[:4]}-{version[4:6]}"
        months = extra.select(pl.format("{}-{}", "year", "month")).to_series().unique()
        assert months.len() > 12 and last[:4] in {m[:4] for m in months}
        assert (extra.group_by("product_code", "zone", "year", "month").agg(
            pl.col("sales").sum()
        )["sales"] > 0).all()  # fmt: skip
    with pytest.raises(ValueError, match="series"):
        generate(tmp_path / "few", series=DEFAULT_SERIES - 1)


def test_cli_series_option(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path / "c"), "--series", "40", "-q"]) == 0
    lines = own_lines(tmp_path / "c", DEFAULT_VERSIONS[-1])
    assert lines.filter(pl.col("product_code").str.starts_with("X"))["product_code"].n_unique() == 3
