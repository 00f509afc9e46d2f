"""One UPS account as a Carrier: OAuth client credentials, then Rating, Shipping and Tracking.

The transport only moves bytes: payloads come from ``mapping`` and failures become
carrier errors in ``carriers.http``.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import httpx

from carriers.adapters.ups import mapping
from carriers.adapters.ups.config import UPSConfig
from carriers.base import (
    Capability,
    Carrier,
    CarrierError,
    CarrierRejected,
    CarrierUnavailable,
    PurchaseUndone,
)
from carriers.http import (
    OAuthToken,
    bearer,
    carrier_client,
    json_reply,
    send,
    send_authorized,
    unreadable_reply,
    utcnow,
)
from carriers.models import (
    CarrierMessage,
    Label,
    LabelFormat,
    LabelRequest,
    Rate,
    RateRequest,
    Tracking,
    VoidResult,
)

CARRIER = mapping.CARRIER
CAPABILITIES = frozenset({Capability.RATE, Capability.LABEL, Capability.VOID, Capability.TRACK})
# 401 and 403 on a void mean our credentials are wrong, not that UPS refused the void
_AUTH_FAILURES = frozenset({401, 403})


class UPSCarrier:
    carrier: str = CARRIER

    def __init__(self, account_id: str, config: UPSConfig, *,
                 clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = utcnow) -> None:
        self.id = account_id
        self.capabilities: frozenset[Capability] = CAPABILITIES
        self._config = config
        self._now = now
        self._client = carrier_client(config.url, config.timeout_seconds, proxy=config.proxy)
        # ``clock`` lets tests move time to the token's expiry without sleeping
        self._token = OAuthToken(self._fetch_token, clock=clock)

    async def rate(self, request: RateRequest) -> list[Rate]:
        body = await self._call(
            "POST", f"/api/rating/{self._config.rating_version}/Shop",
            params=mapping.rate_params(request),
            json=mapping.rate_request(request, self._config))
        with unreadable_reply(CARRIER, mapping.UnexpectedReply):
            return mapping.parse_rates(body, self.id)

    def check_label(self, request: LabelRequest) -> None:
        mapping.check_label(request)

    async def purchase(self, request: LabelRequest, label_id: str, *,
                       carrier_key: str | None = None) -> Label:
        """Buy; a shipment created with an unusable answer is voided (see ``_undo``)."""
        payload = mapping.ship_request(request, self._config, label_id,
                                       today=self._now().date())
        body = await self._call(
            "POST", f"/api/shipments/{self._config.shipping_version}/ship", json=payload)
        try:
            return mapping.parse_label(body, request, label_id=label_id, account=self.id,
                                       created_at=self._now(),
                                       paperless=self._config.paperless_invoice)
        except mapping.UnexpectedReply as exc:
            raise await self._undo(mapping.shipment_id(body), exc) from exc

    async def void(self, label: Label) -> VoidResult:
        target = quote(mapping.void_target(label), safe="")
        try:
            body = await self._call(
                "DELETE", f"/api/shipments/{self._config.shipping_version}/void/cancel/{target}")
        except CarrierRejected as exc:
            if exc.status_code in _AUTH_FAILURES:
                raise
            return mapping.void_refusal(exc.messages, label)
        with unreadable_reply(CARRIER, mapping.UnexpectedReply):
            return mapping.parse_void(body, label)

    async def track(self, tracking_number: str) -> Tracking:
        body = await self._call(
            "GET", f"/api/track/v1/details/{quote(tracking_number, safe='')}",
            params={"locale": "en_US"})
        with unreadable_reply(CARRIER, mapping.UnexpectedReply):
            return mapping.parse_tracking(body, tracking_number)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _undo(self, shipment: str | None, problem: Exception) -> CarrierError:
        """UPS created ``shipment`` but we cannot hand its label out: void it, so the
        purchase can be made again; when the void fails the outcome stays unknown."""
        said = CarrierMessage(carrier=CARRIER, code="unexpected_reply",
                              message=f"UPS answered in an unexpected shape: {problem}")
        if shipment is None:
            return CarrierUnavailable(CARRIER, [said])
        try:
            body = await self._call("DELETE", f"/api/shipments/{self._config.shipping_version}"
                                    f"/void/cancel/{quote(shipment, safe='')}")
            voided = mapping.parse_void(body, _placeholder(shipment, self.id)).voided
        except (CarrierError, mapping.UnexpectedReply):
            voided = False
        if voided:
            return PurchaseUndone(CARRIER, [said, CarrierMessage(
                carrier=CARRIER, code="shipment_voided",
                message=f"UPS shipment {shipment} was voided again; buying again is safe")])
        return CarrierUnavailable(CARRIER, [said, CarrierMessage(
            carrier=CARRIER, code="shipment_not_voided",
            message=f"UPS shipment {shipment} was created and could not be voided; "
                    "void it in the UPS account")])

    async def _fetch_token(self) -> tuple[str, float]:
        config = self._config
        pair = f"{config.client_id.get_secret_value()}:{config.client_secret.get_secret_value()}"
        request = self._client.build_request(
            "POST", "/security/v1/oauth/token", data=mapping.token_form(),
            headers={"Authorization": f"Basic {base64.b64encode(pair.encode()).decode()}",
                     "x-merchant-id": config.shipper_number})
        response = await send(self._client, CARRIER, request, mapping.parse_errors)
        with unreadable_reply(CARRIER, mapping.UnexpectedReply):
            return mapping.parse_token(json_reply(CARRIER, response))

    async def _call(self, method: str, path: str, *, json: Any = None,
                    params: Mapping[str, str] | None = None) -> Any:
        def build(token: str) -> httpx.Request:
            # transId must be unique per request, so a retry after a 401 gets a fresh one
            headers = bearer(token, {"transId": uuid4().hex,
                                     "transactionSrc": self._config.transaction_source})
            return self._client.build_request(method, path, json=json, params=params,
                                              headers=headers)

        try:
            response = await send_authorized(self._client, CARRIER, self._token, build,
                                             mapping.parse_errors)
        except CarrierRejected as exc:
            # UPS may report its rate limit (10429) under a status other than 429
            if mapping.is_rate_limited(exc.messages):
                raise CarrierUnavailable(CARRIER, exc.messages,
                                         status_code=exc.status_code) from exc
            raise
        return json_reply(CARRIER, response)


def _placeholder(shipment: str, account: str) -> Label:
    """A stand-in label for reading a void reply about a shipment we never labelled."""
    return Label(id="unlabelled", carrier=CARRIER, carrier_account=account, service="",
                 tracking_number=shipment, format=LabelFormat.ZPL, packages=[],
                 charge=Decimal(0), currency="XXX", created_at=utcnow())


def build(account_id: str, options: Mapping[str, Any]) -> Carrier:
    """The Carrier for one ``carrier = "ups"`` account; ``options`` must fit UPSConfig."""
    return UPSCarrier(account_id, UPSConfig.model_validate(dict(options)))
