"""UPS mapping, by operation: one place the adapter (and tests) reach the pure functions.

    common.py   shared payload parts (parties, packages, units) and reply helpers
    customs.py  international rules and payload parts (forms, duties, tax ids)
    rate.py     Rating Shop request and reply
    ship.py     Shipping request, label reply, forms
    track.py    Tracking reply
    void.py     void target, reply, refusal
    error.py    error bodies
"""

from carriers.adapters.ups.common import CARRIER, UnexpectedReply, parse_token, token_form
from carriers.adapters.ups.error import RATE_LIMITED, is_rate_limited, parse_errors
from carriers.adapters.ups.rate import parse_rates, rate_params, rate_request
from carriers.adapters.ups.ship import (
    IMAGE_CODES,
    check_label,
    parse_label,
    ship_request,
    shipment_id,
)
from carriers.adapters.ups.track import parse_tracking
from carriers.adapters.ups.void import parse_void, void_refusal, void_target

__all__ = [
    "CARRIER",
    "IMAGE_CODES",
    "RATE_LIMITED",
    "UnexpectedReply",
    "check_label",
    "is_rate_limited",
    "parse_errors",
    "parse_label",
    "parse_rates",
    "parse_token",
    "parse_tracking",
    "parse_void",
    "rate_params",
    "rate_request",
    "ship_request",
    "shipment_id",
    "token_form",
    "void_refusal",
    "void_target",
]
