"""Unit tests for CSV parsing against the landed-table contract (docs/contracts.md section 2)."""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass
from datetime import datetime

import polars as pl
import pytest

from ingest.contract import LINEAGE_SCHEMA, MONTHS, QUARANTINE_SCHEMA, TABLES
from ingest.parsing import BlobParser, count_lines

MONTHLY = TABLES[("tamales_inc", "monthly_sales")]
FACT = TABLES[("teinvento_inc", "fact_table")]
PRODUCT = TABLES[("teinvento_inc", "product_dim")]
REGION = TABLES[("teinvento_inc", "region_dim")]
AT = datetime(2024, 5, 6, 7, 8, 9)
GOOD = "2019,Jan,Mexico,Regular,Dulce,Centro,206050084,Tamal mix,1234.5"


@dataclass(frozen=True)
class ParsedBlob:
    """A blob's landed rows (in line order) and quarantined lines, collected from `BlobParser`."""

    landed: pl.DataFrame
    quarantined: pl.DataFrame

    @property
    def rows_read(self) -> int:
        return self.landed.height + self.quarantined.height


def parse_blob(data: bytes, spec, batch_rows: int | None = None, **lineage) -> ParsedBlob:  # noqa: ANN001, ANN003
    parser = BlobParser(data, spec, batch_rows=batch_rows, **lineage)
    frames = list(parser.batches())
    empty = pl.DataFrame(schema=spec.landed_schema)
    landed = pl.concat(frames).sort("line_number") if frames else empty
    return ParsedBlob(landed, parser.quarantined)


def parse(data: str | bytes, spec=MONTHLY):  # noqa: ANN001, ANN201
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return parse_blob(raw, spec, blob_name="a/b.csv", data_version="20200801", ingested_at=AT)


def reasons(parsed) -> dict[int, str]:  # noqa: ANN001
    return dict(parsed.quarantined.select("line_number", "reason").iter_rows())


def test_contract_columns_and_types_in_order() -> None:
    expected = {
        "monthly_sales": "year month country calorie_category flavor zone product_code "
        "product_name sales",
        "fact_table": "year month sales id_region id_product",
        "product_dim": "id_product calorie_category product product_brand producer",
        "region_dim": "id_region country region",
    }
    lineage = ["blob_name", "line_number", "data_version", "ingested_at"]
    for (_, table), spec in TABLES.items():
        assert list(spec.landed_schema) == expected[table].split() + lineage
    assert MONTHLY.landed_schema["year"] == pl.Int32
    assert MONTHLY.landed_schema["product_code"] == pl.String
    assert MONTHLY.landed_schema["sales"] == pl.Float64
    assert FACT.landed_schema["id_region"] == pl.Int64
    assert LINEAGE_SCHEMA["ingested_at"] == pl.Datetime("us")
    assert list(QUARANTINE_SCHEMA) == [
        "blob_name", "line_number", "raw_line", "reason", "data_version", "ingested_at",
    ]  # fmt: skip


def test_well_formed_lines_land_typed_with_lineage() -> None:
    data = (
        f"{GOOD}\n"
        "2020,Aug,Mexico,Low-Calorie,Cajeta,E. Privados,ABYT055818,Atole mix,-5.86e-14\n"
        "2020,Feb,Mexico,Regular,Mole,Sur,000123,Tamal mix,0\n"
    )
    parsed = parse(data)
    assert parsed.quarantined.height == 0
    assert parsed.landed.schema == pl.Schema(MONTHLY.landed_schema)
    rows = parsed.landed.rows(named=True)
    assert rows[0]["year"] == 2019 and rows[0]["sales"] == 1234.5
    assert rows[1]["sales"] == -5.86e-14 and rows[1]["zone"] == "E. Privados"
    assert rows[2]["product_code"] == "000123"  # numeric-looking codes stay text, zeros kept
    assert [r["line_number"] for r in rows] == [1, 2, 3]
    assert {r["blob_name"] for r in rows} == {"a/b.csv"}
    assert {r["data_version"] for r in rows} == {"20200801"}
    assert {r["ingested_at"] for r in rows} == {AT}


def test_teinvento_tables_big_ids_empty_values_and_enye() -> None:
    fact = parse("2020,Aug,34600000.25,446676598784,85899345920\n2018,Jan,,1,2\n", FACT)
    assert fact.landed["id_region"].to_list() == [446676598784, 1]
    assert fact.landed["sales"].to_list() == [34600000.25, None]  # empty sales -> NULL
    product = parse(
        "1194000908288,Light,Tameles doña chona -Piña,Tamales doña chona,OTROS FABRICANTES\n"
        "807453851648,Regular,,,OTROS FABRICANTES\n",
        PRODUCT,
    )
    assert product.quarantined.height == 0
    assert product.landed["product"].to_list() == ["Tameles doña chona -Piña", None]
    region = parse("996432412672,Mexico,\n1151051235328,Mexico,E. Privados\n", REGION)
    assert region.landed["region"].to_list() == [None, "E. Privados"]
    assert region.landed["id_region"].dtype == pl.Int64


def test_text_is_not_trimmed() -> None:
    parsed = parse("2019,Jan, Mexico ,Regular,Dulce,Centro,206050084,Tamal mix,1\n")
    assert parsed.landed["country"].to_list() == [" Mexico "]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("2019,Jan,Mexico", "wrong column count: 3 (expected 9)"),
        (GOOD + ",extra", "wrong column count: 10 (expected 9)"),
        ("", "empty line"),
        ("2019,Jan,Mexico,Regular,Dulce,Centro,206050084,Tamal mix,12,5", "wrong column count"),
        ("2019,Jan,Mexico,Regular,Dulce,Centro,206050084,Tamal mix,abc", "sales: not a finite"),
        ("2019,Jan,Mexico,Regular,Dulce,Centro,206050084,Tamal mix,inf", "sales: not a finite"),
        ("2019,Jan,Mexico,Regular,Dulce,Centro,206050084,Tamal mix,", "sales: empty"),
        ("2019,Foo,Mexico,Regular,Dulce,Centro,206050084,Tamal mix,1", "month: not Jan..Dec"),
        ("2019,jan,Mexico,Regular,Dulce,Centro,206050084,Tamal mix,1", "month: not Jan..Dec"),
        ("19.5,Jan,Mexico,Regular,Dulce,Centro,206050084,Tamal mix,1", "year: not an integer"),
        ("1850,Jan,Mexico,Regular,Dulce,Centro,206050084,Tamal mix,1", "year: outside 1900-2100"),
        (",Jan,Mexico,Regular,Dulce,Centro,206050084,Tamal mix,1", "year: empty"),
        ('2019,Jan,Mexico,Regular,"Dulce,Centro,206050084,Tamal mix,1', "malformed quoting"),
    ],
)
def test_contract_violations_are_quarantined_with_reason(line: str, reason: str) -> None:
    parsed = parse(f"{GOOD}\n{line}\n{GOOD}\n")
    assert parsed.landed["line_number"].to_list() == [1, 3]
    bad = parsed.quarantined.row(0, named=True)
    assert parsed.quarantined.height == 1
    assert bad["line_number"] == 2
    assert bad["raw_line"] == line
    assert bad["reason"].startswith(reason)
    assert bad["blob_name"] == "a/b.csv" and bad["data_version"] == "20200801"
    assert parsed.rows_read == 3


def test_bad_utf8_is_quarantined_and_the_rest_lands() -> None:
    data = f"{GOOD}\n".encode() + b"2019,Jan,Mexico,Regular,Dulce,Centro,2060\xff84,Tamal mix,1\n"
    data += b"1194000908288,x\n"  # wrong count too, on a later line
    parsed = parse(data)
    assert parsed.landed.height == 1
    assert reasons(parsed) == {
        2: "invalid UTF-8 at byte 42",
        3: "wrong column count: 2 (expected 9)",
    }
    assert "\\xff" in parsed.quarantined["raw_line"][0]


def test_bad_id_in_teinvento_is_quarantined() -> None:
    parsed = parse("2020,Aug,1.5,4.4e11,85899345920\n2020,Aug,1.5,,85899345920\n", FACT)
    assert reasons(parsed) == {
        1: "id_region: not an integer: '4.4e11'",
        2: "id_region: empty",
    }


def test_quoted_fields_with_commas_land_in_line_order() -> None:
    data = (
        f'{GOOD}\n2019,Feb,Mexico,Regular,Dulce,Centro,206050084,"Tamal mix, grande",2.5\n{GOOD}\n'
    )
    parsed = parse(data)
    assert parsed.quarantined.height == 0
    assert parsed.landed["line_number"].to_list() == [1, 2, 3]
    assert parsed.landed["product_name"].to_list() == [
        "Tamal mix",
        "Tamal mix, grande",
        "Tamal mix",
    ]
    assert parsed.landed["sales"].to_list() == [1234.5, 2.5, 1234.5]


def test_line_ends_bom_and_empty_blobs() -> None:
    assert parse("").rows_read == 0
    assert parse("").landed.schema == pl.Schema(MONTHLY.landed_schema)
    assert parse("").quarantined.schema == pl.Schema(QUARANTINE_SCHEMA)
    no_final_newline = parse(f"{GOOD}\n{GOOD}")
    assert no_final_newline.landed["line_number"].to_list() == [1, 2]
    crlf = parse(f"{GOOD}\r\n{GOOD}\r\n")
    assert crlf.landed["sales"].to_list() == [1234.5, 1234.5]
    assert crlf.quarantined.height == 0
    bom = parse(b"\xef\xbb\xbf" + f"{GOOD}\n".encode())
    assert bom.landed["year"].to_list() == [2019]
    only_newline = parse("\n")
    assert reasons(only_newline) == {1: "empty line"}
    assert count_lines(b"a\nb") == count_lines(b"a\nb\n") == 2


def _reference(data: bytes, n_columns: int) -> tuple[dict[int, list[str | None]], set[int]]:
    """Line-by-line reference: fields of the well-shaped lines and numbers of the broken ones."""
    good: dict[int, list[str | None]] = {}
    broken: set[int] = set()
    for number, raw in enumerate(data.split(b"\n")[: count_lines(data)], start=1):
        try:
            text = raw.decode("utf-8")
            fields = next(csv.reader([text], strict=True)) if text else []
        except (UnicodeDecodeError, csv.Error):
            broken.add(number)
            continue
        if len(fields) != n_columns:
            broken.add(number)
            continue
        year, month, sales = fields[0], fields[1], fields[8]
        try:
            ok = 1900 <= int(year) <= 2100 and month in MONTHS and math.isfinite(float(sales))
        except ValueError:
            ok = False
        if ok:
            good[number] = [f or None for f in fields]
        else:
            broken.add(number)
    return good, broken


@pytest.mark.parametrize("seed", range(6))
def test_matches_a_line_by_line_reference_on_random_dirty_blobs(seed: int) -> None:
    rng = random.Random(seed)
    corruptions = [
        lambda f: f[:-1],
        lambda f: [*f, "x"],
        lambda f: [f[0], "Foo", *f[2:]],
        lambda f: [*f[:8], "1,5"],
        lambda f: [*f[:8], "n/a"],
        lambda f: [*f[:7], '"Tamal mix, grande"', f[8]],
        lambda f: [*f[:7], "Piña", f[8]],
        lambda f: ["20x9", *f[1:]],
        lambda f: [*f[:2], "", *f[3:]],
    ]
    lines: list[bytes] = []
    for _ in range(400):
        fields = [
            str(rng.choice([2019, 2020])),
            rng.choice(MONTHS),
            "Mexico",
            "Regular",
            "Dulce",
            "Centro",
            rng.choice(["206050084", "ABYT055818"]),
            "Tamal mix",
            repr(rng.uniform(-1e3, 1e6)),
        ]
        if rng.random() < 0.1:
            fields = rng.choice(corruptions)(fields)
        line = ",".join(fields).encode()
        if rng.random() < 0.01:
            line = line[:5] + b"\xc3" + line[6:]
        lines.append(line)
    data = b"\n".join(lines) + b"\n"
    parsed = parse(data)
    good, broken = _reference(data, 9)
    assert parsed.rows_read == 400
    assert set(parsed.quarantined["line_number"].to_list()) == broken
    landed = {
        row[-1]: [None if v is None else str(v) for v in row[:-1]]
        for row in parsed.landed.select(*MONTHLY.names[:8], "line_number").iter_rows()
    }
    assert landed.keys() == good.keys()
    assert all(landed[n] == good[n][:8] for n in good)
    sales = dict(parsed.landed.select("line_number", "sales").iter_rows())
    assert all(sales[n] == float(good[n][8]) for n in good)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "landed", "quarantined"),
    [
        ("1,Mexico,\n2,Mexico,Sur\n", [1, 2], {}),  # an empty last field is a value (NULL)
        ("1,Mexico,\n2,Mexico\n", [1], {2: "wrong column count: 2 (expected 3)"}),
        ("1,Mexico\n2,Mexico,Sur\n", [2], {1: "wrong column count: 2 (expected 3)"}),
        ("1,Mexico,Sur\n2,Mexico,Sur,x\n", [1], {2: "wrong column count: 4 (expected 3)"}),
        ("1,Mexico,Sur\n\n3,Mexico,Sur\n", [1, 3], {2: "empty line"}),
    ],
)
def test_short_and_long_lines_when_the_last_column_may_be_empty(
    data: str, landed: list[int], quarantined: dict[int, str]
) -> None:
    parsed = parse(data, REGION)
    assert parsed.landed["line_number"].to_list() == landed
    assert reasons(parsed) == quarantined


def test_streamed_batches_hold_back_and_recover_lines_like_the_exact_path() -> None:
    """A quote-free blob read in small batches: a refused value mid-blob (the rest of the blob
    takes the exact path), rule breakers and short lines held back, every line accounted for."""
    lines = [f"2019,Jan,Mexico,Regular,Dulce,Centro,P{i},Tamal mix,{i}.5" for i in range(1, 1001)]
    lines[99] = lines[99].replace(",Jan,", ",Foo,")  # a rule breaker
    lines[299] = lines[299].rsplit(",", 1)[0]  # a short line (the last column reads empty)
    lines[499] = lines[499].replace(",500.5", ",n/a")  # polars refuses it: the rest goes exact
    lines[699] += ",x"  # a long line, in the exact part
    data = ("\n".join(lines) + "\n").encode()
    parsed = parse_blob(
        data, MONTHLY, blob_name="a/b.csv", data_version="v", ingested_at=AT, batch_rows=64
    )
    assert reasons(parsed) == {
        100: "month: not Jan..Dec: 'Foo'",
        300: "wrong column count: 8 (expected 9)",
        500: "sales: not a finite number: 'n/a'",
        700: "wrong column count: 10 (expected 9)",
    }
    landed = parsed.landed["line_number"].to_list()
    assert landed == sorted(set(range(1, 1001)) - {100, 300, 500, 700})
    assert parsed.landed.filter(pl.col("line_number") == 999)["sales"].item() == 999.5
    assert parsed.landed.filter(pl.col("line_number") == 999)["product_code"].item() == "P999"
    assert parsed.quarantined["raw_line"].to_list() == [lines[i] for i in (99, 299, 499, 699)]
