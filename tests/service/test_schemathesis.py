"""Schemathesis over every operation of the OpenAPI schema: no input may produce a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tamales_inc.core.settings import Settings
from tamales_sales_service.app import create_app
from tests.conftest import query_warehouse

# Every operation the API documents; test_schema_lists_every_operation keeps this list honest.
OPERATIONS = [
    ("GET", "/health"),
    ("GET", "/products"),
    ("GET", "/products/{product_id}"),
    ("GET", "/zones"),
    ("GET", "/zones/{zone_id}"),
    ("GET", "/points-of-sale"),
    ("GET", "/sales"),
    ("GET", "/features"),
    ("GET", "/forecasts"),
    ("POST", "/predictions"),
    ("GET", "/models/current"),
]
# Operations with inputs a client can get wrong (the others have no negative space).
NEGATIVE = [
    op
    for op in OPERATIONS
    if op[1] in {"/points-of-sale", "/sales", "/features", "/forecasts", "/predictions"}
]
MAX_EXAMPLES = 100


@pytest.fixture(scope="module")
def api_schema(api_settings: Settings) -> schemathesis.BaseSchema:
    """The schema of a fresh app, called in-process (Schemathesis runs that app's lifespan)."""
    return schemathesis.openapi.from_asgi("/schema/openapi.json", create_app(api_settings))


@pytest.fixture(scope="module")
def forecast_horizons(api_settings: Settings) -> tuple[int, int]:
    """The horizons the published forecasts cover (what `horizon` may ask for)."""
    sql = "select min(horizon), max(horizon) from ml.forecasts"
    first, last = query_warehouse(api_settings, sql).row(0)
    return int(first), int(last)


def _breaks_documented_rule(case: schemathesis.Case, horizons: tuple[int, int]) -> bool:
    """Documented 400s that a JSON schema cannot express: `from` after `to`, a `group_by`
    dimension named twice, a `horizon` the published forecasts do not cover (data-dependent)."""
    query = case.query or {}
    start, end = query.get("from"), query.get("to")
    if isinstance(start, str) and isinstance(end, str) and start > end:
        return True
    group_by = query.get("group_by")
    if isinstance(group_by, str) and len(set(group_by.split(","))) < len(group_by.split(",")):
        return True
    horizon = query.get("horizon")
    return isinstance(horizon, int) and not horizons[0] <= horizon <= horizons[1]


def test_schema_lists_every_operation(api_schema: schemathesis.BaseSchema) -> None:
    documented = {
        (result.ok().method.upper(), result.ok().path) for result in api_schema.get_all_operations()
    }
    assert documented == set(OPERATIONS)


CASES = [(m, p, GenerationMode.POSITIVE) for m, p in OPERATIONS] + [
    (m, p, GenerationMode.NEGATIVE) for m, p in NEGATIVE
]


@pytest.mark.parametrize(
    ("method", "path", "mode"), CASES, ids=[f"{m} {p} {g.value}" for m, p, g in CASES]
)
def test_operation_conforms_to_its_schema(
    api_schema: schemathesis.BaseSchema,
    forecast_horizons: tuple[int, int],
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    """Generated requests get a documented status (never 5xx) and a body matching the schema."""
    operation = api_schema[path][method]
    seen: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode), _=st.just(None))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case, _: None) -> None:
        if mode is GenerationMode.POSITIVE:
            assume(not _breaks_documented_rule(case, forecast_horizons))
        response = case.call_and_validate()
        seen.append(response.status_code)

    run()
    assert seen, "no request was generated"
    assert all(code < 500 for code in seen)
