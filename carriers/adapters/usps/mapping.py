"""USPS v3 mapping, by operation: one place the adapter (and tests) reach the pure functions.

    common.py   units, addresses, OAuth and payment authorization
    rate.py     Shipping Options search and reply
    ship.py     Labels requests, idempotency keys, label replies
    international.py  International Labels requests and their customs rules
    void.py     cancel / refund replies
    error.py    error bodies
    tracking.py Tracking reply
"""

from carriers.adapters.usps.common import (
    CARRIER,
    CURRENCY,
    DOMESTIC,
    PAYMENT_TOKEN_SECONDS,
    inches,
    parse_payment_token,
    parse_token,
    payment_authorization_request,
    pounds,
    reject,
    require_domestic,
    token_request,
    zip_code,
)
from carriers.adapters.usps.error import error_messages
from carriers.adapters.usps.international import check_label
from carriers.adapters.usps.rate import SERVICE_LEVELS, options_request, parse_rates
from carriers.adapters.usps.ship import (
    LABEL_MEDIA_TYPE,
    LABEL_PATH,
    LabelPart,
    build_label,
    idempotency_key,
    image_type,
    label_path,
    label_requests,
    parse_label_part,
)
from carriers.adapters.usps.void import cancel_path, parse_cancel, void_result, void_targets

__all__ = [
    "CARRIER",
    "CURRENCY",
    "DOMESTIC",
    "LABEL_MEDIA_TYPE",
    "LABEL_PATH",
    "PAYMENT_TOKEN_SECONDS",
    "SERVICE_LEVELS",
    "LabelPart",
    "build_label",
    "cancel_path",
    "check_label",
    "error_messages",
    "idempotency_key",
    "image_type",
    "inches",
    "label_path",
    "label_requests",
    "options_request",
    "parse_cancel",
    "parse_label_part",
    "parse_payment_token",
    "parse_rates",
    "parse_token",
    "payment_authorization_request",
    "pounds",
    "reject",
    "require_domestic",
    "token_request",
    "void_result",
    "void_targets",
    "zip_code",
]
