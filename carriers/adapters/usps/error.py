"""USPS error bodies into messages. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from carriers.adapters.usps.common import CARRIER
from carriers.models import CarrierMessage


def error_messages(status: int, body: Any) -> list[CarrierMessage]:
    """``{"apiVersion", "error": {"code", "message", "errors": [{status, code, title,
    detail, source: {parameter}}]}}``; OAuth failures may use RFC 6749's flat form."""
    if not isinstance(body, Mapping):
        return []
    error = body.get("error")
    if isinstance(error, str):  # {"error": "invalid_client", "error_description": "…"}
        return [CarrierMessage(carrier=CARRIER, code=error,
                               message=str(body.get("error_description") or error))]
    if not isinstance(error, Mapping):
        return []
    top_code = str(error.get("code") or f"http_{status}")
    messages = []
    for item in error.get("errors") or []:
        text = str(item.get("detail") or item.get("title") or error.get("message") or "")
        parameter = (item.get("source") or {}).get("parameter")
        if parameter:
            text = f"{text} ({parameter})"
        messages.append(CarrierMessage(carrier=CARRIER, code=str(item.get("code") or top_code),
                                       message=text))
    if not messages and error.get("message"):
        messages.append(CarrierMessage(carrier=CARRIER, code=top_code,
                                       message=str(error["message"])))
    return messages
