"""The Litestar application factory: `create_app(settings)`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio.to_thread
from litestar import Litestar
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware

from tamales_inc.core.settings import Settings
from tamales_sales_service.controllers.features import FeatureController
from tamales_sales_service.controllers.forecasts import ForecastController
from tamales_sales_service.controllers.health import HealthController
from tamales_sales_service.controllers.models import ModelController
from tamales_sales_service.controllers.points_of_sale import PointOfSaleController
from tamales_sales_service.controllers.predictions import PredictionController
from tamales_sales_service.controllers.products import ProductController
from tamales_sales_service.controllers.sales import SalesController
from tamales_sales_service.controllers.zones import ZoneController
from tamales_sales_service.dependencies import dependencies
from tamales_sales_service.errors import EXCEPTION_HANDLERS
from tamales_sales_service.openapi import openapi_config, static_router
from tamales_sales_service.rate_limit import RateLimitMiddleware, TokenBuckets
from tamales_sales_service.request_policy import (
    BoundedJSONRequest,
    cors_config,
    reject_repeated_parameters,
)
from tamales_sales_service.served_model import PromotedModel
from tamales_sales_service.warehouse import PublishedWarehouse
from tamales_sales_service.watch import Reloader

API_VERSION = "1.0.0"
DEFAULT_CACHE_SIZE = 4096
DEFAULT_WORKER_THREADS = 8
log = logging.getLogger(__name__)


def _lifespan(
    warehouse: PublishedWarehouse, model: PromotedModel, poll_interval: float, worker_threads: int
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """Open the warehouse and model at startup, poll for new publishes, close on shutdown."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # few worker threads: DuckDB runs one thread per query, and a large pool only makes the
        # threads queue for the GIL (long latency tails) without adding throughput
        anyio.to_thread.current_default_thread_limiter().total_tokens = worker_threads
        warehouse.refresh()
        model.refresh()
        if not warehouse.is_open:
            log.warning(
                "no warehouse at %s yet; answering 503 until one is published", warehouse.path
            )
        reloader = Reloader(warehouse, model, interval=poll_interval)
        reloader.start()
        try:
            yield
        finally:
            reloader.stop()
            warehouse.close()

    return lifespan


def _rate_limit(settings: Settings) -> list[DefineMiddleware]:
    """The per-client rate limit's middleware when `settings.api_rate_limit` is set."""
    if settings.api_rate_limit is None:
        return []
    requests, period = settings.api_rate_limit
    return [DefineMiddleware(RateLimitMiddleware, buckets=TokenBuckets(requests, period))]


def create_app(
    settings: Settings | None = None,
    *,
    poll_interval: float = 0.5,
    duckdb_threads: int = 1,
    cache_size: int = DEFAULT_CACHE_SIZE,
    worker_threads: int = DEFAULT_WORKER_THREADS,
) -> Litestar:
    """Build the API over `settings.warehouse_path` (read-only) and the promoted model.

    The warehouse and model are opened at startup; a background thread polls every
    `poll_interval` seconds and moves to a newly published warehouse or model without a restart.
    Query results are kept in an LRU of `cache_size` entries per published warehouse (0: off);
    DuckDB queries run on at most `worker_threads` threads, each with its own cursor. Handlers
    are given the current snapshot and model by injection (`dependencies.py`). Requests pass the
    request policy first (`request_policy.py`: body size `settings.api_max_body_bytes`, JSON
    nesting, one value per parameter, CORS for `settings.api_cors_origins`) and, when
    `settings.api_rate_limit` is set, the per-client rate limit (`rate_limit.py`). The app leaves
    logging to whoever runs it (`python -m tamales_sales_service` logs as `serve: ...`).
    """
    settings = settings or Settings.from_env()
    warehouse = PublishedWarehouse(
        settings.warehouse_path, threads=duckdb_threads, cache_size=cache_size
    )
    model = PromotedModel(settings)

    return Litestar(
        route_handlers=[
            HealthController,
            ProductController,
            ZoneController,
            PointOfSaleController,
            SalesController,
            FeatureController,
            ForecastController,
            PredictionController,
            ModelController,
            static_router(),
        ],
        state=State({"settings": settings, "warehouse": warehouse, "model": model}),
        dependencies=dependencies(warehouse, model),
        lifespan=[_lifespan(warehouse, model, poll_interval, worker_threads)],
        exception_handlers=EXCEPTION_HANDLERS,
        request_class=BoundedJSONRequest,
        request_max_body_size=settings.api_max_body_bytes,
        before_request=reject_repeated_parameters,
        cors_config=cors_config(settings),
        middleware=_rate_limit(settings),
        openapi_config=openapi_config(API_VERSION),
        logging_config=None,
    )
