"""FedEx mapping, by operation: one place the adapter (and tests) reach the pure functions.

    common.py   shared payload parts (parties, packages, units) and reply helpers
    customs.py  international rules and payload parts (commodities, duties, tins, ETD)
    rate.py     Rate quotes request and reply (estimated duties and taxes)
    ship.py     Ship request, label reply, invoice documents
    track.py    Track request and reply
    void.py     cancel request, reply, refusal
    error.py    error bodies
"""

from carriers.adapters.fedex.common import (
    CARRIER,
    PACKAGING,
    UnexpectedReply,
    parse_token,
    token_form,
)
from carriers.adapters.fedex.error import parse_errors
from carriers.adapters.fedex.rate import parse_rates, rate_request
from carriers.adapters.fedex.ship import (
    IMAGE_TYPES,
    check_label,
    created_tracking_number,
    parse_label,
    ship_request,
)
from carriers.adapters.fedex.track import parse_tracking, track_request
from carriers.adapters.fedex.void import cancel_request, cancelled, parse_cancel, void_refusal

__all__ = [
    "CARRIER",
    "IMAGE_TYPES",
    "PACKAGING",
    "UnexpectedReply",
    "cancel_request",
    "cancelled",
    "check_label",
    "created_tracking_number",
    "parse_cancel",
    "parse_errors",
    "parse_label",
    "parse_rates",
    "parse_token",
    "parse_tracking",
    "rate_request",
    "ship_request",
    "token_form",
    "track_request",
    "void_refusal",
]
