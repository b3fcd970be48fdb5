"""Every error the service answers with: the exceptions, their handlers and their OpenAPI entries.

Each failure becomes `{status_code, detail, extra}` with a one-line `detail`: 400 for a bad
parameter or body, 404 for an unknown id, 413 for a body over the limit, 429 over the rate limit,
503 while there is nothing to answer from yet. A body never names a file of the server: paths in
a reason are cut to their last component (the log keeps them whole).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import duckdb
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ExceptionHandlersMap

from tamales_sales_service.schemas import (
    GROUP_BY_DIMENSIONS,
    GROUP_BY_PATTERN,
    MONTH_PATTERN,
    ErrorBody,
)

log = logging.getLogger(__name__)

# An absolute path of two or more components, not part of a URL (`http://host/...`).
_PATH = re.compile(r"(?<![\w.~:/-])/(?:[^\s'\"`()\[\]{},;:/]+/)+([^\s'\"`()\[\]{},;:/]*)")


def without_paths(text: str) -> str:
    """`text` with every absolute file path cut to `.../<last component>`."""
    return _PATH.sub(lambda m: f".../{m.group(1)}" if m.group(1) else "...", text)


class WarehouseUnavailable(Exception):
    """No warehouse has been published (or it cannot be opened, or lacks a table) yet (503)."""


class ModelUnavailable(Exception):
    """No model has been promoted yet, or the promoted one cannot predict (503)."""


class UnknownId(LookupError):
    """A product, zone, series or model that the warehouse or registry does not hold (404)."""


class BadParameter(Exception):
    """A parameter that passed type checks but makes no sense (400)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"invalid parameter '{name}': {reason}")
        self.name = name


def _error(
    status_code: int, detail: str, extra: Any = None, headers: dict[str, str] | None = None
) -> Response[ErrorBody]:
    return Response(
        ErrorBody(status_code=status_code, detail=detail, extra=extra),
        status_code=status_code,
        media_type=MediaType.JSON,
        headers=headers,
    )


# Python names of parameters whose wire name is a keyword.
_WIRE_NAMES = {"from_": "from"}


def _reason(message: str) -> str:
    if MONTH_PATTERN in message:
        return f"expected a month as YYYY-MM ({message})"
    if GROUP_BY_PATTERN in message:
        dimensions = ", ".join(GROUP_BY_DIMENSIONS)
        return f"expected one or more of {dimensions}, comma-separated ({message})"
    return message


def _validation(_: Request, exc: ValidationException) -> Response[ErrorBody]:
    """Litestar's 400s, reworded to name each bad parameter (by its wire name) and why."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    reasons = []
    for item in extra:
        if not isinstance(item, dict):
            continue
        key = item.get("key")
        if isinstance(key, str):
            key = item["key"] = _WIRE_NAMES.get(key, key)
        source = getattr(item.get("source"), "value", item.get("source")) or "request"
        item["source"] = source
        message = _reason(str(item.get("message", "invalid value")))
        if source == "body" and key == "data" and message == "'data'":  # no body at all
            reasons.append("body: a JSON object is required")
        elif key:
            reasons.append(f"{source} parameter '{key}': {message}")
        else:
            reasons.append(f"{source}: {message}")
    detail = "invalid " + "; ".join(reasons) if reasons else str(exc.detail)
    return _error(400, detail, extra or None)


def _http(request: Request, exc: HTTPException) -> Response[ErrorBody]:
    """Litestar's own errors (404 route, 405 with its `Allow` header, 413, ...), same body shape."""
    detail = str(exc.detail)
    if exc.status_code == 413:  # raised while reading the body, so within a route
        limit = request.route_handler.resolve_request_max_body_size()
        detail = f"request body too large: this API reads at most {limit} bytes"
    return _error(exc.status_code, detail, exc.extra or None, dict(exc.headers or {}))


def _bad_parameter(_: Request, exc: BadParameter) -> Response[ErrorBody]:
    return _error(400, str(exc), [{"key": exc.name, "source": "query"}])


def _unknown_id(_: Request, exc: UnknownId) -> Response[ErrorBody]:
    return _error(404, str(exc))


def _unavailable(_: Request, exc: Exception) -> Response[ErrorBody]:
    return _error(503, without_paths(str(exc)))


def _duckdb(request: Request, exc: duckdb.Error) -> Response[ErrorBody]:
    log.exception("warehouse query failed on %s %s", request.method, request.url.path)
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return _error(
        503, without_paths(f"the warehouse could not answer ({reason}); retry or rebuild it")
    )


def _unexpected(request: Request, exc: Exception) -> Response[ErrorBody]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _error(500, f"internal error ({type(exc).__name__}); see the service log")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ValidationException: _validation,
    HTTPException: _http,
    BadParameter: _bad_parameter,
    UnknownId: _unknown_id,
    WarehouseUnavailable: _unavailable,
    ModelUnavailable: _unavailable,
    duckdb.Error: _duckdb,
    Exception: _unexpected,
}


def responses(*codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI documentation of the error answers a handler can give."""
    descriptions = {
        400: "A parameter or the body is invalid; `detail` names it and says why",
        404: "An id is unknown, or no data exists for it",
        413: "The request body is larger than the configured limit",
        429: "Over the per-client rate limit (when one is set); `Retry-After` says when to retry",
        503: "No warehouse, model or forecasts are published yet",
    }
    return {
        code: ResponseSpec(data_container=ErrorBody, description=descriptions[code])
        for code in codes
    }
