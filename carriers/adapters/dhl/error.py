"""MyDHL error bodies into messages. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from carriers.adapters.dhl.common import CARRIER
from carriers.models import CarrierMessage

_CODED = re.compile(r"^\s*(\d{3,6})\s*:\s*(.+)$", re.DOTALL)


def _coded(text: str, fallback: str) -> CarrierMessage:
    match = _CODED.fullmatch(text)
    if match:
        return CarrierMessage(carrier=CARRIER, code=match.group(1),
                              message=" ".join(match.group(2).split()))
    return CarrierMessage(carrier=CARRIER, code=fallback, message=" ".join(text.split()))


def error_messages(status: int, body: Any) -> list[CarrierMessage]:
    """Problem-like ``{"instance", "detail", "title", "message", "status",
    "additionalDetails": ["7120: …", …]}``; codes come from the ``NNNN:`` prefixes."""
    if not isinstance(body, Mapping):
        return []
    fallback = str(body.get("status") or body.get("code") or f"http_{status}")
    details = [str(d) for d in body.get("additionalDetails") or [] if d]
    if details:
        return [_coded(detail, fallback) for detail in details]
    text = body.get("detail") or body.get("message") or body.get("title")
    return [_coded(str(text), fallback)] if text else []
