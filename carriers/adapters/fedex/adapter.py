"""One FedEx account as a Carrier: OAuth client credentials, then Rate, Ship and Track.

The transport only moves bytes: payloads come from ``mapping`` and failures become
carrier errors in ``carriers.http``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from carriers.adapters.fedex import mapping
from carriers.adapters.fedex.config import FedExConfig
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
    LabelRequest,
    Rate,
    RateRequest,
    Tracking,
    VoidResult,
)

CARRIER = mapping.CARRIER
CAPABILITIES = frozenset({Capability.RATE, Capability.LABEL, Capability.VOID, Capability.TRACK})
# 401 and 403 on a cancel mean our credentials are wrong, not that FedEx refused it
_AUTH_FAILURES = frozenset({401, 403})


class FedExCarrier:
    carrier: str = CARRIER

    def __init__(self, account_id: str, config: FedExConfig, *,
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
        body = await self._call("POST", "/rate/v1/rates/quotes",
                                mapping.rate_request(request, self._config))
        with unreadable_reply(CARRIER, mapping.UnexpectedReply):
            return mapping.parse_rates(body, self.id)

    async def purchase(self, request: LabelRequest, label_id: str, *,
                       carrier_key: str | None = None) -> Label:
        """Buy; a shipment created with an unusable answer is cancelled (see ``_undo``)."""
        payload = mapping.ship_request(request, self._config)
        # FedEx echoes x-customer-transaction-id, which ties its logs to our label id
        body = await self._call("POST", "/ship/v1/shipments", payload,
                                {"x-customer-transaction-id": label_id})
        try:
            return mapping.parse_label(body, request, self._config, label_id=label_id,
                                       account=self.id, created_at=self._now())
        except mapping.UnexpectedReply as exc:
            raise await self._undo(mapping.created_tracking_number(body), exc) from exc

    def check_label(self, request: LabelRequest) -> None:
        mapping.check_label(request)

    async def void(self, label: Label) -> VoidResult:
        try:
            body = await self._call("PUT", "/ship/v1/shipments/cancel",
                                    mapping.cancel_request(label, self._config))
        except CarrierRejected as exc:
            if exc.status_code in _AUTH_FAILURES:
                raise
            return mapping.void_refusal(exc.messages, label)
        with unreadable_reply(CARRIER, mapping.UnexpectedReply):
            return mapping.parse_cancel(body, label)

    async def track(self, tracking_number: str) -> Tracking:
        body = await self._call("POST", "/track/v1/trackingnumbers",
                                mapping.track_request(tracking_number))
        with unreadable_reply(CARRIER, mapping.UnexpectedReply):
            return mapping.parse_tracking(body, tracking_number)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _undo(self, tracking_number: str | None, problem: Exception) -> CarrierError:
        """FedEx created a shipment whose answer we cannot use: cancel it, so the purchase
        can be made again; when the cancel fails the outcome stays unknown."""
        said = CarrierMessage(carrier=CARRIER, code="unexpected_reply",
                              message=f"FedEx answered in an unexpected shape: {problem}")
        if tracking_number is None:
            return CarrierUnavailable(CARRIER, [said])
        body = {"accountNumber": {"value": self._config.account_number},
                "trackingNumber": tracking_number, "deletionControl": "DELETE_ALL_PACKAGES"}
        try:
            reply = await self._call("PUT", "/ship/v1/shipments/cancel", body)
            cancelled = mapping.cancelled(reply)
        except CarrierError:
            cancelled = False
        if cancelled:
            return PurchaseUndone(CARRIER, [said, CarrierMessage(
                carrier=CARRIER, code="shipment_cancelled",
                message=f"FedEx shipment {tracking_number} was cancelled again; buying again "
                        "is safe")])
        return CarrierUnavailable(CARRIER, [said, CarrierMessage(
            carrier=CARRIER, code="shipment_not_cancelled",
            message=f"FedEx shipment {tracking_number} was created and could not be "
                    "cancelled; cancel it in the FedEx account")])

    async def _fetch_token(self) -> tuple[str, float]:
        request = self._client.build_request("POST", "/oauth/token",
                                             data=mapping.token_form(self._config))
        response = await send(self._client, CARRIER, request, mapping.parse_errors)
        with unreadable_reply(CARRIER, mapping.UnexpectedReply):
            return mapping.parse_token(json_reply(CARRIER, response))

    async def _call(self, method: str, path: str, payload: Any,
                    headers: Mapping[str, str] | None = None) -> Any:
        def build(token: str) -> httpx.Request:
            return self._client.build_request(method, path, json=payload,
                                              headers=bearer(token, headers))

        response = await send_authorized(self._client, CARRIER, self._token, build,
                                         mapping.parse_errors)
        return json_reply(CARRIER, response)


def build(account_id: str, options: Mapping[str, Any]) -> Carrier:
    """The Carrier for one ``carrier = "fedex"`` account; ``options`` must fit FedExConfig."""
    return FedExCarrier(account_id, FedExConfig.model_validate(dict(options)))
