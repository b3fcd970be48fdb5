"""The API's OpenAPI schema and its interactive page (Swagger UI), whose assets the service
serves itself. Not the dbt docs of the warehouse (`tamales_inc.warehouse.dbt_docs`)."""

from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

STATIC_DIR = Path(__file__).parent / "static"
ASSETS = "/static/swagger-ui"  # swagger-ui-dist, vendored (see static/swagger-ui/VERSION)


def openapi_config(version: str) -> OpenAPIConfig:
    """Schema at /schema/openapi.json; Swagger UI at /schema and /schema/swagger, no CDN."""
    swagger = SwaggerRenderPlugin(
        path=["/", "/swagger"],
        js_url=f"{ASSETS}/swagger-ui-bundle.js",
        css_url=f"{ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS}/favicon-32x32.png'>",
    )
    return OpenAPIConfig(
        title="Tamales sales API",
        version=version,
        description=(
            "Sales, features and forecasts from the Tamales lakehouse warehouse "
            "(read-only). Errors answer `{status_code, detail}` with a one-line reason."
        ),
        path="/schema",
        render_plugins=[swagger],
    )


def static_router() -> Router:
    """Serve the vendored Swagger UI assets under /static."""
    return create_static_files_router(path="/static", directories=[STATIC_DIR], name="static")
