"""What handlers are given by injection (Litestar `Provide`): the warehouse snapshot and the
served model of the moment the request arrived.

A handler names them as parameters, `snapshot: CurrentSnapshot` and `model: CurrentModel`, and
reads both from one consistent moment even if a publish swaps them mid-request. Asking for the
snapshot while no warehouse is published answers 503 before the handler runs.
"""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import SkipValidation

from tamales_sales_service.served_model import PromotedModel, ServedModel
from tamales_sales_service.snapshot import Snapshot
from tamales_sales_service.warehouse import PublishedWarehouse

# the app's state: what the dependencies are provided from
WAREHOUSE, MODEL = "warehouse", "model"


def provide_snapshot(state: State) -> Snapshot:
    """The current snapshot of the published warehouse (WarehouseUnavailable while none)."""
    warehouse: PublishedWarehouse = state[WAREHOUSE]
    return warehouse.snapshot


def provide_model(state: State) -> ServedModel:
    """The promoted model being served (it may hold no model yet)."""
    promoted: PromotedModel = state[MODEL]
    return promoted.served


DEPENDENCIES = {
    "snapshot": Provide(provide_snapshot, sync_to_thread=False),
    "model": Provide(provide_model, sync_to_thread=False),
}
# handler parameter types: provided objects, not request data, so Litestar does not validate them
CurrentSnapshot = SkipValidation[Snapshot]
CurrentModel = SkipValidation[ServedModel]
