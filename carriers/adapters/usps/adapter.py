"""One USPS account as a Carrier: OAuth, payment authorization, then the v3 APIs.

The transport only moves bytes: payloads come from ``mapping`` and failures become
carrier errors in ``carriers.http``. Two cached tokens per account: the OAuth bearer token
(refreshed once after a 401) and the payment authorization token labels need (8 hours).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from carriers.adapters.usps import mapping, tracking
from carriers.adapters.usps.config import UspsConfig
from carriers.base import (
    Capability,
    CapabilityMissing,
    Carrier,
    CarrierError,
    CarrierRejected,
)
from carriers.http import (
    OAuthToken,
    bearer,
    carrier_client,
    send,
    send_authorized,
    unreadable_reply,
    utcnow,
)
from carriers.models import (
    CarrierMessage,
    Label,
    LabelRequest,
    MessageLevel,
    Rate,
    RateRequest,
    Tracking,
    VoidResult,
)

CARRIER = mapping.CARRIER
# what reading a body of an unexpected shape raises in the pure mapping functions
_SHAPE_ERRORS = (KeyError, IndexError, TypeError, ValueError)
# 401 and 403 on a void mean our credentials are wrong, not that USPS refused the void
_AUTH_FAILURES = frozenset({401, 403})
_VERBS = {Capability.LABEL: "buy labels", Capability.VOID: "void labels",
          Capability.RATE: "rate", Capability.TRACK: "track"}
T = TypeVar("T")


def _errors(carrier: str, response: httpx.Response) -> list[CarrierMessage]:
    try:
        body = response.json()
    except ValueError:
        body = None
    return mapping.error_messages(response.status_code, body)


def _json(response: httpx.Response) -> Any:
    # money stays Decimal from the wire on
    return json.loads(response.content, parse_float=Decimal)


async def _all(calls: Sequence[Awaitable[T]]) -> list[T]:
    """Await every call; raise the first failure once all have settled."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    values: list[T] = []
    for result in results:
        if isinstance(result, BaseException):
            raise result
        values.append(result)
    return values


class UspsCarrier:
    # the same X-Idempotency-Key with the same body returns the label already bought
    repeatable_purchase = True

    def __init__(self, account_id: str, config: UspsConfig, *,
                 clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = utcnow) -> None:
        self.id = account_id
        self.carrier: str = CARRIER
        self.capabilities: frozenset[Capability] = frozenset(
            {Capability.RATE, Capability.TRACK}
            | ({Capability.LABEL, Capability.VOID} if config.buys_labels else set()))
        self._config = config
        # mailing dates use the UTC date: never earlier than any US mainland local date
        self._now = now
        self._client = carrier_client(config.url, config.timeout_seconds, proxy=config.proxy)
        # ``clock`` lets tests move time to a token's expiry without sleeping
        self._token = OAuthToken(self._fetch_token, clock=clock)
        self._payment = OAuthToken(self._fetch_payment_token, refresh_margin=600.0, clock=clock)

    async def rate(self, request: RateRequest) -> list[Rate]:
        """One options search per parcel (USPS prices single pieces), summed per mail class."""
        today = self._now().date()
        payloads = [mapping.options_request(request.ship_from, request.ship_to, parcel,
                                            self._config, today)
                    for parcel in request.parcels]
        bodies = await _all([self._call("POST", "/shipments/v3/options/search", json=payload)
                             for payload in payloads])
        with unreadable_reply(CARRIER, *_SHAPE_ERRORS):
            return mapping.parse_rates(bodies, self.id, self._config.mail_classes)

    async def purchase(self, request: LabelRequest, label_id: str, *,
                       carrier_key: str | None = None) -> Label:
        """One label per parcel, bought in order; the first tracking number is the master."""
        self._require(Capability.LABEL)
        bodies = mapping.label_requests(request, self._config, self._now().date())
        path = mapping.label_path(request)
        payment = await self._payment.get()
        parts: list[mapping.LabelPart] = []
        for index, body in enumerate(bodies):
            headers = {
                "Accept": mapping.LABEL_MEDIA_TYPE,
                "X-Payment-Authorization-Token": payment,
                "X-Idempotency-Key": mapping.idempotency_key(
                    carrier_key, index, account=self.id, label_id=label_id),
            }
            try:
                response = await self._send("POST", path, json=body, headers=headers)
                with unreadable_reply(CARRIER, *_SHAPE_ERRORS):
                    parts.append(mapping.parse_label_part(
                        response.headers.get("content-type", ""), response.content))
            except CarrierRejected as exc:
                self._forget_payment(payment, exc)
                await self._cancel_earlier(parts, exc)
                raise
            except CarrierError as exc:
                # the outcome of this parcel is unknown: keep the earlier labels, whose
                # idempotency keys return them if the same label id is bought again
                _note_earlier(parts, exc, "kept; buying the same label id again returns it")
                raise
        with unreadable_reply(CARRIER, *_SHAPE_ERRORS):
            return mapping.build_label(parts, request, label_id=label_id, account=self.id,
                                       created_at=self._now())

    def check_label(self, request: LabelRequest) -> None:
        mapping.check_label(request)

    async def void(self, label: Label) -> VoidResult:
        """Cancel every parcel's label; after manifesting USPS files a refund request instead."""
        self._require(Capability.VOID)
        outcomes = []
        for tracking_number in mapping.void_targets(label):
            voided, message = await self._cancel(tracking_number)
            outcomes.append((tracking_number, voided, message))
        return mapping.void_result(label, outcomes)

    async def track(self, tracking_number: str) -> Tracking:
        body = await self._call("GET", f"/tracking/v3/tracking/{quote(tracking_number, safe='')}",
                                params={"expand": "DETAIL"})
        with unreadable_reply(CARRIER, *_SHAPE_ERRORS):
            return tracking.parse_tracking(body, tracking_number)

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- transport ---------------------------------------------------------------------

    def _require(self, capability: Capability) -> None:
        if capability not in self.capabilities:
            raise CapabilityMissing(CARRIER, [CarrierMessage(
                carrier=CARRIER, code="capability_missing",
                message=f"USPS account {self.id} cannot {_VERBS[capability]}: it has no crid, "
                        "mid, manifest_mid and eps_account_number for payment authorization")])

    async def _send(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                    json: Any = None, headers: Mapping[str, str] | None = None
                    ) -> httpx.Response:
        def build(token: str) -> httpx.Request:
            return self._client.build_request(method, path, params=params, json=json,
                                              headers=bearer(token, headers))
        return await send_authorized(self._client, CARRIER, self._token, build, _errors)

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._send(method, path, **kwargs)
        with unreadable_reply(CARRIER, *_SHAPE_ERRORS):
            return _json(response)

    async def _fetch_token(self) -> tuple[str, float]:
        request = self._client.build_request("POST", "/oauth2/v3/token",
                                             json=mapping.token_request(self._config))
        response = await send(self._client, CARRIER, request, _errors)
        with unreadable_reply(CARRIER, *_SHAPE_ERRORS):
            return mapping.parse_token(_json(response))

    async def _fetch_payment_token(self) -> tuple[str, float]:
        body = await self._call("POST", "/payments/v3/payment-authorization",
                                json=mapping.payment_authorization_request(self._config))
        with unreadable_reply(CARRIER, *_SHAPE_ERRORS):
            return mapping.parse_payment_token(body), mapping.PAYMENT_TOKEN_SECONDS

    async def _cancel(self, tracking_number: str) -> tuple[bool, str | None]:
        payment = await self._payment.get()
        try:
            response = await self._send(
                "DELETE",
                f"{mapping.cancel_path(tracking_number)}{quote(tracking_number, safe='')}",
                headers={"X-Payment-Authorization-Token": payment})
        except CarrierRejected as exc:
            if exc.status_code in _AUTH_FAILURES:
                self._forget_payment(payment, exc)
                raise
            return False, "; ".join(m.message for m in exc.messages) or str(exc)
        with unreadable_reply(CARRIER, *_SHAPE_ERRORS):
            return mapping.parse_cancel(_json(response))

    def _forget_payment(self, payment: str, failure: CarrierRejected) -> None:
        # how USPS refuses an expired payment token is undocumented: after an auth failure
        # the next label fetches a fresh one instead of reusing it for up to 8 hours
        if failure.status_code in _AUTH_FAILURES:
            self._payment.invalidate(payment)

    async def _cancel_earlier(self, parts: Sequence[mapping.LabelPart],
                              failure: CarrierError) -> None:
        """A later parcel was refused: cancel the labels already bought for this shipment."""
        for part in parts:
            try:
                voided, message = await self._cancel(part.tracking_number)
            except CarrierError as exc:
                voided, message = False, str(exc)
            outcome = "cancelled" if voided else f"NOT cancelled ({message}); void it by hand"
            failure.messages.append(CarrierMessage(
                carrier=CARRIER, code="earlier_parcel_label", level=MessageLevel.WARNING,
                message=f"label {part.tracking_number} bought for an earlier parcel: {outcome}"))


def _note_earlier(parts: Sequence[mapping.LabelPart], failure: CarrierError, note: str) -> None:
    for part in parts:
        failure.messages.append(CarrierMessage(
            carrier=CARRIER, code="earlier_parcel_label", level=MessageLevel.WARNING,
            message=f"label {part.tracking_number} bought for an earlier parcel: {note}"))


def build(account_id: str, options: Mapping[str, Any]) -> Carrier:
    """A USPS Carrier for one ``[[shipping.accounts]]`` entry; ``options`` as in UspsConfig."""
    return UspsCarrier(account_id, UspsConfig.model_validate(options))
