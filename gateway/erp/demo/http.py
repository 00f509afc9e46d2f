"""Connector for the demo ERP running as its own process (``erp-gateway demo-erp``)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field

from carriers.config import ProxyUrl
from gateway.context import outbound_headers
from gateway.erp.base import (
    Availability,
    ErpBadResponse,
    ErpTimeout,
    ErpUnavailable,
    NewOrder,
    Order,
    OrderNotFound,
    OrderRefused,
    PriceItem,
    PriceResult,
    UnknownCustomer,
)
from gateway.erp.wire import (
    availability_from_wire,
    new_order_to_wire,
    order_from_wire,
    price_from_wire,
)


class HttpDemoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["http-demo"] = "http-demo"
    url: str = "http://127.0.0.1:8100"
    connect_timeout: float = Field(1.0, gt=0)
    read_timeout: float = Field(5.0, gt=0)
    total_timeout: float = Field(8.0, gt=0)
    max_connections: int = Field(50, ge=1)
    # an explicit outbound proxy (the environment's proxy variables are never read)
    proxy: ProxyUrl | None = None


class HttpDemoConnector:
    name = "http-demo"

    def __init__(self, config: HttpDemoConfig, transport: httpx.AsyncBaseTransport | None = None
                 ) -> None:
        self.config = config
        self._client = httpx.AsyncClient(
            base_url=config.url,
            timeout=httpx.Timeout(config.read_timeout, connect=config.connect_timeout),
            limits=httpx.Limits(max_connections=config.max_connections,
                                max_keepalive_connections=config.max_connections),
            transport=transport,
            trust_env=False,
            proxy=config.proxy,
        )

    async def _call(self, method: str, path: str, body: Any = None,
                    params: dict[str, str] | None = None) -> httpx.Response:
        try:
            async with asyncio.timeout(self.config.total_timeout):
                response = await self._client.request(method, path, json=body, params=params,
                                                      headers=outbound_headers())
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise ErpTimeout(f"demo ERP did not answer {path} in time") from exc
        except httpx.TransportError as exc:
            raise ErpUnavailable(f"demo ERP unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            error = ErpUnavailable(f"demo ERP answered {response.status_code} on {path}")
            retry = response.headers.get("Retry-After", "")
            if retry.isdigit():
                error.retry_after = int(retry)
            raise error
        return response

    @staticmethod
    def _items(response: httpx.Response) -> list[dict[str, Any]]:
        if response.status_code != 200:
            raise ErpBadResponse(f"demo ERP answered {response.status_code}")
        try:
            items = response.json()["items"]
            if not isinstance(items, list):
                raise TypeError("items is not a list")
            return items
        except (ValueError, KeyError, TypeError) as exc:
            raise ErpBadResponse(f"demo ERP sent an unreadable body: {exc}") from exc

    async def availability(self, skus: Sequence[str]) -> dict[str, Availability]:
        response = await self._call("POST", "/api/availability", {"skus": list(skus)})
        try:
            found = [availability_from_wire(doc) for doc in self._items(response)]
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise ErpBadResponse(f"demo ERP sent a malformed availability: {exc}") from exc
        return {a.sku: a for a in found}

    async def prices(self, customer: str, items: Sequence[PriceItem]) -> dict[str, PriceResult]:
        body = {"customer": customer,
                "items": [{"sku": i.sku, "quantity": str(i.quantity)} for i in items]}
        response = await self._call("POST", "/api/prices", body)
        if response.status_code == 404:
            raise UnknownCustomer(customer)
        try:
            quotes = [price_from_wire(doc) for doc in self._items(response)]
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise ErpBadResponse(f"demo ERP sent a malformed price: {exc}") from exc
        return {q.sku: q for q in quotes}

    async def warehouses(self) -> tuple[str, ...]:
        response = await self._call("GET", "/api/warehouses")
        return tuple(str(code) for code in self._items(response))

    def _order(self, response: httpx.Response, what: str) -> Order:
        if response.status_code == 404:
            raise OrderNotFound(what)
        if response.status_code == 409:
            raise OrderRefused(self._detail(response))
        if response.status_code not in (200, 201):
            raise ErpBadResponse(f"demo ERP answered {response.status_code}")
        try:
            return order_from_wire(response.json())
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise ErpBadResponse(f"demo ERP sent a malformed order: {exc}") from exc

    @staticmethod
    def _detail(response: httpx.Response) -> str:
        try:
            return str(response.json()["detail"])
        except (ValueError, KeyError, TypeError):
            return f"demo ERP refused ({response.status_code})"

    async def create_order(self, order: NewOrder) -> Order:
        response = await self._call("POST", "/api/orders", new_order_to_wire(order))
        if response.status_code == 404:
            raise UnknownCustomer(order.customer)
        return self._order(response, order.reference)

    async def find_order(self, customer: str, reference: str) -> Order | None:
        response = await self._call("GET", "/api/orders",
                                    params={"customer": customer, "reference": reference})
        found = self._items(response)
        try:
            return order_from_wire(found[0]) if found else None
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise ErpBadResponse(f"demo ERP sent a malformed order: {exc}") from exc

    async def get_order(self, order_id: str) -> Order:
        path = "/api/orders/" + quote(order_id, safe="")
        return self._order(await self._call("GET", path), order_id)

    async def cancel_order(self, order_id: str) -> Order:
        path = "/api/orders/" + quote(order_id, safe="") + "/cancel"
        return self._order(await self._call("POST", path), order_id)

    async def health(self) -> None:
        response = await self._call("GET", "/health")
        if response.status_code != 200:
            raise ErpUnavailable(f"demo ERP health answered {response.status_code}")

    async def aclose(self) -> None:
        await self._client.aclose()
