"""DHL Express (MyDHL API 3.1.1) mapping, by operation: what the adapter and tests reach.

    common.py   shared payload parts (packages, accounts, planned time, prices)
    customs.py  international rules and the export declaration
    rate.py     /rates request and reply
    ship.py     /shipments request, label reply, invoice documents; void unsupported
    track.py    tracking reply
    error.py    error bodies
"""

from carriers.adapters.dhl.common import (
    API_VERSION,
    CARRIER,
    NO_CURRENCY,
    customs_declarable,
    planned_shipping,
    reject,
)
from carriers.adapters.dhl.error import error_messages
from carriers.adapters.dhl.rate import PRODUCT_LEVELS, parse_rates, rate_request, service_level
from carriers.adapters.dhl.ship import (
    ENCODINGS,
    check_label,
    parse_label,
    shipment_request,
    void_unsupported,
)
from carriers.adapters.dhl.track import parse_tracking

__all__ = [
    "API_VERSION",
    "CARRIER",
    "ENCODINGS",
    "NO_CURRENCY",
    "PRODUCT_LEVELS",
    "check_label",
    "customs_declarable",
    "error_messages",
    "parse_label",
    "parse_rates",
    "parse_tracking",
    "planned_shipping",
    "rate_request",
    "reject",
    "service_level",
    "shipment_request",
    "void_unsupported",
]
