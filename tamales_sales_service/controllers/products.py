"""GET /products and /products/{product_id}: the conformed product catalog."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import PathParameter

from tamales_sales_service.dependencies import CurrentSnapshot
from tamales_sales_service.errors import responses
from tamales_sales_service.schemas import Product


class ProductController(Controller):
    """Products, served from the in-memory copy of marts.dim_product."""

    path = "/products"
    tags = ["products"]

    @get(
        operation_id="listProducts",
        summary="Every product",
        description=(
            "The conformed product catalog (both sources' products under one slug id), ordered "
            "by `product_id`; `is_unknown` marks the placeholder for unmapped codes."
        ),
        sync_to_thread=False,
        responses=responses(400, 429, 503),
    )
    def list_products(self, snapshot: CurrentSnapshot) -> list[Product]:
        """Every conformed product, ordered by product_id."""
        return list(snapshot.products.values())

    @get(
        "/{product_id:str}",
        operation_id="getProduct",
        summary="One product",
        description="One product of the conformed catalog by its id; an unknown id is a 404.",
        sync_to_thread=False,
        responses=responses(400, 404, 429, 503),
    )
    def get_product(
        self,
        snapshot: CurrentSnapshot,
        product_id: Annotated[
            str,
            PathParameter(
                description="A conformed product id (see GET /products), e.g. "
                "tamal-mix-dulce-regular"
            ),
        ],
    ) -> Product:
        """One product by its conformed id (404 if unknown)."""
        snapshot.require_product(product_id)
        return snapshot.products[product_id]
