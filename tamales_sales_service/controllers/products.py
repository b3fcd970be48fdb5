"""GET /products and /products/{product_id}: the conformed product catalog."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.datastructures import State
from litestar.params import PathParameter

from tamales_sales_service.errors import responses
from tamales_sales_service.schemas import Product


class ProductController(Controller):
    """Products, served from the in-memory copy of marts.dim_product."""

    path = "/products"
    tags = ["products"]

    @get(operation_id="listProducts", sync_to_thread=False, responses=responses(503))
    def list_products(self, state: State) -> list[Product]:
        """Every conformed product, ordered by product_id."""
        return list(state.warehouse.snapshot.products.values())

    @get(
        "/{product_id:str}",
        operation_id="getProduct",
        sync_to_thread=False,
        responses=responses(404, 503),
    )
    def get_product(
        self,
        state: State,
        product_id: Annotated[str, PathParameter(description="e.g. tamal-mix-dulce-regular")],
    ) -> Product:
        """One product by its conformed id (404 if unknown)."""
        snap = state.warehouse.snapshot
        snap.require_product(product_id)
        return snap.products[product_id]
