"""One purchase per Idempotency-Key, and the label store.

Map::

    records.py       record states, the store protocol, errors (the design is described there)
    flow.py          the purchase state machine over a store
    stores.py        opens the configured store
    sqlite_store.py  the embedded store (one SQLite file)
    redis_store.py   the shared store on Redis, for several replicas

The store modules import only ``records``; nothing here imports this package's
``__init__``, so there is no import cycle.
"""

from carriers.idempotency.flow import (
    IdempotentPurchases,
    PurchaseKind,
    PurchaseOutcome,
)
from carriers.idempotency.records import (
    IdempotencyError,
    IdempotencyInProgress,
    IdempotencyMismatch,
    IdempotencyRecord,
    IdempotencyStore,
    IdempotencyUnresolved,
    LabelLookup,
    RecordState,
    StoredError,
    StoredLabel,
    fingerprint,
    new_label_id,
)
from carriers.idempotency.stores import open_store

__all__ = [
    "IdempotencyError",
    "IdempotencyInProgress",
    "IdempotencyMismatch",
    "IdempotencyRecord",
    "IdempotencyStore",
    "IdempotencyUnresolved",
    "IdempotentPurchases",
    "LabelLookup",
    "PurchaseKind",
    "PurchaseOutcome",
    "RecordState",
    "StoredError",
    "StoredLabel",
    "fingerprint",
    "new_label_id",
    "open_store",
]
