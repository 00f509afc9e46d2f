"""One DHL Express account as a Carrier over the MyDHL API (HTTP Basic, no tokens).

The transport only moves bytes: payloads come from ``mapping`` and failures become
carrier errors in ``carriers.http``. MyDHL has no shipment cancellation, so the account
does not advertise ``Capability.VOID``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from carriers.adapters.dhl import mapping
from carriers.adapters.dhl.config import DhlExpressConfig
from carriers.base import Capability, Carrier
from carriers.http import carrier_client, send, unreadable_reply, utcnow
from carriers.models import (
    CarrierMessage,
    Label,
    LabelRequest,
    Rate,
    RateRequest,
    Tracking,
    VoidResult,
)

CARRIER = mapping.CARRIER
# what reading a body of an unexpected shape raises in the pure mapping functions
_SHAPE_ERRORS = (KeyError, IndexError, TypeError, ValueError)
CAPABILITIES = frozenset({Capability.RATE, Capability.LABEL, Capability.TRACK})


def _errors(carrier: str, response: httpx.Response) -> list[CarrierMessage]:
    try:
        body = response.json()
    except ValueError:
        body = None
    return mapping.error_messages(response.status_code, body)


class DhlExpressCarrier:
    def __init__(self, account_id: str, config: DhlExpressConfig, *,
                 now: Callable[[], datetime] = utcnow) -> None:
        self.id = account_id
        self.carrier: str = CARRIER
        self.capabilities: frozenset[Capability] = CAPABILITIES
        self._config = config
        self._now = now
        self._client = carrier_client(
            config.url, config.timeout_seconds,
            auth=httpx.BasicAuth(config.api_key.get_secret_value(),
                                 config.api_secret.get_secret_value()),
            headers={"x-version": mapping.API_VERSION}, proxy=config.proxy)

    async def rate(self, request: RateRequest) -> list[Rate]:
        body = await self._call("POST", "/rates",
                                json=mapping.rate_request(request, self._config, self._now()))
        with unreadable_reply(CARRIER, *_SHAPE_ERRORS):
            return mapping.parse_rates(body, self.id)

    async def purchase(self, request: LabelRequest, label_id: str, *,
                       carrier_key: str | None = None) -> Label:
        """One waybill for all parcels; each parcel is a piece with its own label document."""
        payload = mapping.shipment_request(request, self._config, self._now(),
                                           label_id=label_id)
        body = await self._call("POST", "/shipments", json=payload)
        with unreadable_reply(CARRIER, *_SHAPE_ERRORS):
            return mapping.parse_label(body, request, label_id=label_id, account=self.id,
                                       created_at=self._now(),
                                       paperless=self._config.paperless_trade)

    def check_label(self, request: LabelRequest) -> None:
        mapping.check_label(request)

    async def void(self, label: Label) -> VoidResult:
        """Always CapabilityMissing: the waybill has to be cancelled with DHL directly."""
        raise mapping.void_unsupported(label.tracking_number)

    async def track(self, tracking_number: str) -> Tracking:
        body = await self._call(
            "GET", f"/shipments/{quote(tracking_number, safe='')}/tracking",
            params={"trackingView": "all-checkpoints", "levelOfDetail": "shipment",
                    "requestGMTOffsetPerEvent": "true"})
        with unreadable_reply(CARRIER, *_SHAPE_ERRORS):
            return mapping.parse_tracking(body, tracking_number)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                    json: Any = None) -> Any:
        request = self._client.build_request(method, path, params=params, json=json)
        response = await send(self._client, CARRIER, request, _errors)
        with unreadable_reply(CARRIER, *_SHAPE_ERRORS):
            return _loads(response.content)


def _loads(content: bytes) -> Any:
    # money stays Decimal from the wire on
    return json.loads(content, parse_float=Decimal)


def build(account_id: str, options: Mapping[str, Any]) -> Carrier:
    """A DHL Express Carrier for one ``[[shipping.accounts]]`` entry (see DhlExpressConfig)."""
    return DhlExpressCarrier(account_id, DhlExpressConfig.model_validate(options))
