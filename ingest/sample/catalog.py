"""Fixed vocabulary of the sample container: products, codes, zones, regions and Spark ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ingest.contract import FACT_TABLE, MONTHLY_SALES

SPARK_ID_STEP = 1 << 33
"""Spark `monotonically_increasing_id` puts the partition index in the upper bits."""

COUNTRY = "Mexico"
COUNTRY_FOLDER = "mx"
TAMALES_INC_DIR = f"{MONTHLY_SALES.source}/{MONTHLY_SALES.dataset}/{COUNTRY_FOLDER}"
TEINVENTO_DIR = f"{FACT_TABLE.source}/{FACT_TABLE.dataset}/{COUNTRY_FOLDER}"

# Rows per Spark part file (len = number of part files); 0 rows = a zero-byte file.
# fact_table's layout is computed from its row count (see `fact_part_sizes`).
PRODUCT_DIM_PARTS: tuple[int, ...] = (0, 4, 2, 0, 5, 1)
REGION_DIM_PARTS: tuple[int, ...] = (1, 1, 0, 2, 1)


def fact_part_sizes(n_rows: int) -> tuple[int, ...]:
    """Five fact_table parts: two large ones, a 2-row one, a 1-row one and an empty one."""
    big = n_rows - 3
    first = big // 2 + 7
    return (first, 0, 2, big - first, 1)


@dataclass(frozen=True)
class Zone:
    """A sales zone of Tamales Inc (= a teinvento region)."""

    name: str  # as written in the rows, e.g. "E. Privados"
    folder: str  # the blob folder, e.g. "E._Privados"
    weight: float  # share of company sales (mean 1 over the four zones)
    shock_depth: float  # how hard the spring-2020 shock hits (1 = average)
    line_weight: float  # relative number of sales lines


ZONES: tuple[Zone, ...] = (
    Zone("Centro", "Centro", 2.10, 1.0, 1.00),
    Zone("E. Privados", "E._Privados", 0.40, 1.6, 0.97),
    Zone("Norte", "Norte", 0.95, 0.8, 1.01),
    Zone("Sur", "Sur", 0.55, 0.9, 1.02),
)


@dataclass(frozen=True)
class OwnProduct:
    """A Tamales Inc product code in the ERP files."""

    code: str
    product_name: str  # "Tamal mix" | "Atole mix"
    flavor: str
    base: float  # mean monthly sales per zone at the start of 2019
    growth: float  # yearly trend (0.05 = +5 % a year)
    lines_v1: int  # exact number of lines in Jan 2019 - Aug 2020 at scale 1


OWN_PRODUCTS: tuple[OwnProduct, ...] = (
    OwnProduct("206050084", "Tamal mix", "Dulce", 505_000.0, 0.06, 2573),
    OwnProduct("ABYT055818", "Atole mix", "Cajeta", 180_000.0, 0.03, 800),
    OwnProduct("206050091", "Tamal mix", "Verde", 112_000.0, 0.10, 720),
    OwnProduct("020605102", "Tamal mix", "Mole", 95_000.0, -0.04, 700),
    OwnProduct("ABYT055825", "Atole mix", "Arroz", 75_000.0, 0.02, 674),
)
LOW_CALORIE_CODE = "020605102"
LOW_CALORIE_LINES_V1 = 18
LOW_CALORIE_MONTHS = (date(2019, 11, 1), date(2020, 2, 1))  # the first and last month they occur
REFERENCE_FIRST_MONTH = date(2019, 1, 1)  # the window where line counts are exact (20200801)
REFERENCE_LAST_MONTH = date(2020, 8, 1)

# Yearly profile of the company's sales (tamales peak at Candelaria in February, in September and
# at Christmas; atoles are a winter drink). Normalised to mean 1 by the model.
SEASONALITY: dict[str, tuple[float, ...]] = {
    "Tamal mix": (1.00, 1.40, 0.95, 0.90, 0.88, 0.82, 0.84, 0.90, 1.12, 0.95, 1.10, 1.30),
    "Atole mix": (1.28, 1.20, 1.00, 0.85, 0.78, 0.72, 0.78, 0.84, 0.95, 1.06, 1.22, 1.34),
}

# Spring-2020 shock (multiplier at shock_depth 1) by month; 1 elsewhere.
SHOCK: dict[date, float] = {
    date(2020, 3, 1): 0.82,
    date(2020, 4, 1): 0.52,
    date(2020, 5, 1): 0.58,
    date(2020, 6, 1): 0.72,
    date(2020, 7, 1): 0.82,
    date(2020, 8, 1): 0.87,
    date(2020, 9, 1): 0.90,
    date(2020, 10, 1): 0.92,
    date(2020, 11, 1): 0.94,
    date(2020, 12, 1): 0.95,
}


@dataclass(frozen=True)
class MarketProduct:
    """A row of teinvento's product_dim."""

    id_product: int
    calorie_category: str
    product: str
    product_brand: str
    producer: str


def _spark_id(k: int) -> int:
    return k * SPARK_ID_STEP


UNKNOWN_PRODUCT_ID = _spark_id(94)
PRODUCTS: tuple[MarketProduct, ...] = (
    MarketProduct(_spark_id(10), "Regular", "Tamal mix Dulce", "Tamal mix", "Tamales Inc"),
    MarketProduct(_spark_id(23), "Regular", "Tamal mix Verde", "Tamal mix", "Tamales Inc"),
    MarketProduct(_spark_id(31), "Light", "Tamal mix Mole", "Tamal mix", "Tamales Inc"),
    MarketProduct(_spark_id(38), "Regular", "Tamal mix Mole", "Tamal mix", "Tamales Inc"),
    MarketProduct(_spark_id(45), "Regular", "Atole mix Arroz", "Atole mix", "Tamales Inc"),
    MarketProduct(_spark_id(61), "Regular", "Atole mix Cajeta", "Atole mix", "Tamales Inc"),
    MarketProduct(
        _spark_id(67), "Regular", "Atoles doña chona - Cajeta", "Doña chona", "Tamaleria Factory"
    ),
    MarketProduct(_spark_id(116), "Regular", "Champurrado Ramirez", "Ramirez", "OTROS FABRICANTES"),
    MarketProduct(
        _spark_id(80), "Zero", "Tamal fitnes - Dulce", "Tamal fitnes", "OTROS FABRICANTES"
    ),
    MarketProduct(
        _spark_id(128),
        "Regular",
        "Tamales doña chona - Chocolate",
        "Doña chona",
        "Tamaleria Factory",
    ),
    MarketProduct(
        _spark_id(139), "Light", "Tameles doña chona -Piña", "Doña chona", "Tamaleria Factory"
    ),
    MarketProduct(UNKNOWN_PRODUCT_ID, "Regular", "", "", "OTROS FABRICANTES"),
)

# region_dim exactly as in RAW_DATA.md (the empty-name region included).
REGIONS: tuple[tuple[int, str, str], ...] = (
    (446676598784, COUNTRY, "Norte"),
    (850403524608, COUNTRY, "Sur"),
    (893353197568, COUNTRY, "Centro"),
    (996432412672, COUNTRY, ""),
    (1151051235328, COUNTRY, "E. Privados"),
)
REGION_ID_BY_NAME: dict[str, int] = {name: rid for rid, _, name in REGIONS}


@dataclass(frozen=True)
class MarketSeries:
    """One (product, region) series of the market feed.

    Own products follow the company's sales of that code in that zone (times `factor`);
    the others have their own level, trend and seasonality.
    """

    id_product: int
    region: str  # region name ("" = the empty-name region)
    first_month: date
    own_code: str | None = None  # Tamales Inc code whose sales this series follows
    factor: float = 0.0  # market / own sales for own products
    level: float = 0.0  # mean monthly sales in 2019 for competitors
    growth: float = 0.0
    season: str = "Tamal mix"


def _pid(product: str, category: str = "Regular") -> int:
    return next(
        p.id_product for p in PRODUCTS if p.product == product and p.calorie_category == category
    )


FACT_FIRST_MONTH = date(2018, 1, 1)
MARKET_SERIES: tuple[MarketSeries, ...] = (
    MarketSeries(_pid("Tamal mix Dulce"), "Centro", FACT_FIRST_MONTH, "206050084", 20.0),
    MarketSeries(_pid("Tamal mix Dulce"), "Norte", FACT_FIRST_MONTH, "206050084", 40.0),
    MarketSeries(_pid("Atole mix Cajeta"), "Centro", FACT_FIRST_MONTH, "ABYT055818", 40.0),
    MarketSeries(_pid("Tamal mix Mole"), "Sur", FACT_FIRST_MONTH, "020605102", 70.0),
    MarketSeries(_pid("Tamal mix Verde"), "E. Privados", FACT_FIRST_MONTH, "206050091", 60.0),
    MarketSeries(_pid("Atole mix Arroz"), "Norte", date(2018, 7, 1), "ABYT055825", 55.0),
    MarketSeries(
        _pid("Tamales doña chona - Chocolate"),
        "Centro",
        FACT_FIRST_MONTH,
        level=15.0e6,
        growth=0.04,
    ),
    MarketSeries(
        _pid("Champurrado Ramirez"),
        "Norte",
        FACT_FIRST_MONTH,
        level=8.0e6,
        growth=-0.02,
        season="Atole mix",
    ),
    MarketSeries(
        _pid("Tamal fitnes - Dulce", "Zero"), "Sur", FACT_FIRST_MONTH, level=2.4e6, growth=0.22
    ),
    MarketSeries(UNKNOWN_PRODUCT_ID, "Centro", FACT_FIRST_MONTH, level=6.8e6, growth=0.0),
    MarketSeries(UNKNOWN_PRODUCT_ID, "", date(2018, 9, 1), level=1.4e6, growth=0.08),
)
FACT_EMPTY_SALES_V1 = 12  # rows with an empty sales field in the reference window
FACT_MIN_SALES = 0.05  # the first month of the empty-region series
