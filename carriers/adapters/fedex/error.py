"""FedEx error bodies into messages. Pure."""

from __future__ import annotations

import json

import httpx

from carriers.adapters.fedex.common import text
from carriers.adapters.payload import as_list, dig
from carriers.models import CarrierMessage


def parse_errors(carrier: str, response: httpx.Response) -> list[CarrierMessage]:
    """``{"transactionId", "errors": [{"code", "message"}]}`` into messages (ErrorParser)."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return []
    return [CarrierMessage(carrier=carrier, code=text(e.get("code")) or "error",
                           message=text(e.get("message")) or "FedEx error")
            for e in as_list(dig(body, "errors")) if isinstance(e, dict)]
