"""Broker orders and their fills in the metadata store (MongoDB or SQLite)."""

from sysdata.orders.order_store import (
    ConflictingFill,
    DuplicateOrderReference,
    FillNotFound,
    OrderNotFound,
    OrderStore,
    OrderStoreError,
)

__all__ = [
    "ConflictingFill",
    "DuplicateOrderReference",
    "FillNotFound",
    "OrderNotFound",
    "OrderStore",
    "OrderStoreError",
]
