"""What the service accepts from a request before a handler runs: the body's nesting (its size is
Litestar's `request_max_body_size`, set by `create_app`), one value per query parameter, and which
browser origins may call it (CORS)."""

from __future__ import annotations

from litestar import Request
from litestar.config.cors import CORSConfig
from litestar.exceptions import ClientException, SerializationException

from tamales_inc.core.settings import Settings
from tamales_sales_service.errors import BadParameter

# How to ask for several values where a parameter takes a list (named in the 400).
LIST_HINTS = {
    "group_by": " (several dimensions are one comma-separated value: group_by=zone,month)"
}


class BoundedJSONRequest(Request):
    """A request whose JSON body is a 400 with a reason, not a 500, when it is nested deeper
    than the decoder can follow (msgspec raises RecursionError near Python's recursion limit),
    and says so when it is not JSON at all."""

    async def json(self) -> object:
        try:
            return await super().json()
        except RecursionError:
            raise ClientException("invalid body: JSON nested too deeply") from None
        except SerializationException as exc:
            raise ClientException(f"invalid body: malformed JSON ({exc.detail})") from None


async def reject_repeated_parameters(request: Request) -> None:
    """Every query parameter takes one value: one given twice is a 400 naming it (a framework
    would silently keep one of them). Async on purpose: Litestar runs a sync hook in a worker
    thread, a hop that cost about 50 us of CPU per request."""
    if b"&" not in request.scope["query_string"]:
        return
    params = request.query_params
    for name in dict.fromkeys(params.keys()):
        count = len(params.getall(name))
        if count > 1:
            raise BadParameter(
                name, f"given {count} times; it takes one value{LIST_HINTS.get(name, '')}"
            )


def cors_config(settings: Settings) -> CORSConfig | None:
    """The CORS policy: browsers on `settings.api_cors_origins` may call the API; none by default
    (no CORS headers, so browsers allow only same-origin pages)."""
    if not settings.api_cors_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.api_cors_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"],
        allow_credentials=False,  # nothing here depends on cookies or credentials
        expose_headers=["Retry-After", "RateLimit-Policy"],
        max_age=600,
    )
