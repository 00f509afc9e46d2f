"""UPS error bodies into messages. Pure."""

from __future__ import annotations

import json
from collections.abc import Iterable

import httpx

from carriers.adapters.payload import as_list, dig
from carriers.adapters.ups.common import text
from carriers.models import CarrierMessage

RATE_LIMITED = "10429"


def parse_errors(carrier: str, response: httpx.Response) -> list[CarrierMessage]:
    """``{"response": {"errors": [{"code", "message"}]}}`` into messages (ErrorParser)."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return []
    errors = dig(body, "response", "errors")
    return [CarrierMessage(carrier=carrier, code=text(e.get("code")) or "error",
                           message=text(e.get("message")) or "UPS error")
            for e in as_list(errors) if isinstance(e, dict)]


def is_rate_limited(messages: Iterable[CarrierMessage]) -> bool:
    return any(m.code == RATE_LIMITED for m in messages)
