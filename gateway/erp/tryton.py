"""Tryton connector: JSON-RPC at ``POST /<database>/rpc/`` over one pooled httpx client.

Identifiers: SKU = ``product.product.code``, customer = ``party.party.code``,
warehouse = ``stock.location.code`` of a location of type ``warehouse``.

Sessions: ``common.db.login`` returns ``[user_id, token, …]``; later calls send
``Authorization: Session base64(login:user_id:token)``. trytond answers HTTP 401
when that session is unknown or expired (``app.auth_required`` in trytond's
wsgi module); the connector then logs in again once and repeats the call.

Stock, per warehouse and whatever the number of SKUs, three concurrent RPCs:
``on_hand`` is ``quantity`` with context ``locations=[warehouse]``; ``available`` is
the storage zone's free stock (``stock_assign``: assigned outgoing moves count as
gone) capped by its ``forecast_quantity``; the next receipt is the earliest planned
move into the warehouse from outside it.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import itertools
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import httpx

import gateway.erp.tryton_rpc as rpc
from gateway.context import outbound_headers
from gateway.erp.base import (
    Availability,
    ErpBadResponse,
    ErpError,
    ErpTimeout,
    ErpUnavailable,
    PriceItem,
    PriceQuote,
    UnknownCustomer,
    WarehouseStock,
)
from gateway.erp.tryton_rpc import (
    TrytonConfig,
    decode_object,
    decode_response,
    encode_request,
    encode_value,
)

__all__ = [
    "TrytonConfig",
    "TrytonConnector",
    "decode_object",
    "decode_response",
    "encode_request",
    "encode_value",
]


log = logging.getLogger(__name__)
T = TypeVar("T")


# --- connector ----------------------------------------------------------------------------


class _SessionRejected(Exception):
    """HTTP 401 on an authenticated call: the session is unknown or expired."""


@dataclass(frozen=True, slots=True)
class _Session:
    authorization: str
    # user preferences (company, companies, language …) sent as context on every call
    context: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Catalog:
    warehouses: tuple[tuple[str, int], ...]  # (code, id)
    currency_id: int
    currency: str
    fetched_at: float


class TrytonConnector:
    """``ErpConnector`` for Tryton (tested against trytond 8.2 with stock and sale modules)."""

    name = "tryton"

    def __init__(
        self, config: TrytonConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._config = config
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(
                connect=config.connect_timeout,
                read=config.read_timeout,
                write=config.read_timeout,
                # waiting for a free connection is bounded by the per-call deadline
                pool=config.total_timeout,
            ),
            limits=httpx.Limits(
                max_connections=config.max_connections,
                max_keepalive_connections=config.max_connections,
            ),
            # settings are the only source of configuration: no proxies from the environment
            trust_env=False,
            proxy=config.proxy,
        )
        self._ids = itertools.count(1)
        self._session_state: _Session | None = None
        self._login_lock = asyncio.Lock()
        self._login_failure: tuple[float, ErpError] | None = None
        self._catalog_state: _Catalog | None = None
        self._catalog_lock = asyncio.Lock()

    # -- protocol --------------------------------------------------------------------------

    async def availability(self, skus: Sequence[str]) -> dict[str, Availability]:
        wanted = list(dict.fromkeys(skus))
        if not wanted:
            return {}
        return await self._bounded(self._availability(wanted), "availability")

    async def prices(self, customer: str, items: Sequence[PriceItem]) -> dict[str, PriceQuote]:
        return await self._bounded(self._prices(customer, items), "prices")

    async def health(self) -> None:
        async def check() -> None:
            await self._catalog()
            await self._rpc("model.stock.location.search_count", [[("type", "=", "warehouse")]])

        await self._bounded(check(), "health")

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- stock -----------------------------------------------------------------------------

    async def _availability(self, skus: list[str]) -> dict[str, Availability]:
        catalog = await self._catalog()
        by_code = [("code", "in", skus)]
        calls: list[Awaitable[Any]] = []
        for _, wh_id in catalog.warehouses:
            calls.append(
                self._search_read(
                    "product.product", by_code, ["code", "quantity"], {"locations": [wh_id]}
                )
            )
            # storage zone only, assigned (reserved) outgoing moves counted as gone
            calls.append(
                self._search_read(
                    "product.product", by_code, ["code", "quantity", "forecast_quantity"],
                    {"locations": [wh_id], "stock_skip_warehouse": True, "stock_assign": True},
                )
            )
            calls.append(self._receipts(skus, wh_id))
        if not calls:
            calls.append(self._search_read("product.product", by_code, ["code"]))
        results = await rpc.gather(calls)

        codes: dict[int, str] = {}
        stock: dict[str, list[WarehouseStock]] = defaultdict(list)
        if not catalog.warehouses:
            codes.update(rpc.product_codes(results[0]))
        for index, (wh_code, _) in enumerate(catalog.warehouses):
            on_hand_rows, free_rows, receipts = results[3 * index: 3 * index + 3]
            codes.update(rpc.product_codes(on_hand_rows))
            free = {row["id"]: row for row in rpc.rows(free_rows, "id", "quantity")}
            for row in rpc.rows(on_hand_rows, "id", "quantity"):
                product_id = row["id"]
                if product_id not in codes:
                    continue
                free_row = free.get(product_id, {})
                # available = free storage stock (Tryton's stock_assign quantity) capped by
                # the storage forecast (planned outgoing moves), never below zero
                available = min(
                    rpc.qty(free_row.get("quantity")), rpc.qty(free_row.get("forecast_quantity"))
                )
                receipt_date, receipt_qty = receipts.get(product_id, (None, None))
                stock[codes[product_id]].append(
                    WarehouseStock(
                        warehouse=wh_code,
                        on_hand=rpc.qty(row["quantity"]),
                        available=max(available, Decimal(0)),
                        next_receipt_date=receipt_date,
                        next_receipt_quantity=receipt_qty,
                    )
                )
        known = set(codes.values())
        return {
            code: Availability(sku=code, warehouses=tuple(stock.get(code, ())))
            for code in skus
            if code in known
        }

    async def _receipts(
        self, skus: list[str], warehouse_id: int
    ) -> dict[int, tuple[dt.date, Decimal]]:
        """Earliest planned incoming date per product id, with the quantity due that day."""
        rows = await self._search_read(
            "stock.move",
            [
                ("product.code", "in", skus),
                ("state", "in", ["draft", "assigned"]),
                ("planned_date", "!=", None),
                ("to_location", "child_of", [warehouse_id], "parent"),
                ("from_location", "not child_of", [warehouse_id], "parent"),
            ],
            ["product", "planned_date", "internal_quantity"],
            order=[("planned_date", "ASC"), ("id", "ASC")],
        )
        earliest: dict[int, tuple[dt.date, Decimal]] = {}
        for row in rpc.rows(rows, "product", "planned_date", "internal_quantity"):
            product_id, date = row["product"], row["planned_date"]
            if not isinstance(date, dt.date):
                rpc.bad("stock.move planned_date is not a date")
            seen = earliest.get(product_id)
            if seen is None:
                earliest[product_id] = (date, rpc.qty(row["internal_quantity"]))
            elif seen[0] == date:
                earliest[product_id] = (date, seen[1] + rpc.qty(row["internal_quantity"]))
        return earliest

    # -- prices ----------------------------------------------------------------------------

    async def _prices(self, customer: str, items: Sequence[PriceItem]) -> dict[str, PriceQuote]:
        parties, catalog = await rpc.gather([
            self._search_read(
                "party.party", [("code", "=", customer)], ["code", "sale_price_list.name"],
                limit=1,
            ),
            self._catalog(),
        ])
        if not parties:
            raise UnknownCustomer(customer)
        party = rpc.rows(parties, "id")[0]
        price_list = party.get("sale_price_list.")
        if price_list is not None and not isinstance(price_list, dict):
            rpc.bad("party.party sale_price_list is not a record")

        quantities = {item.sku: item.quantity for item in items}
        by_quantity: dict[Decimal, list[str]] = defaultdict(list)
        for sku, quantity in quantities.items():
            by_quantity[quantity].append(sku)
        context: dict[str, Any] = {"customer": party["id"], "currency": catalog.currency_id}
        if price_list:
            context["price_list"] = price_list["id"]
        groups = list(by_quantity.items())
        results = await rpc.gather([
            self._search_read(
                "product.product", [("code", "in", skus)],
                ["code", "sale_price_uom", "list_price_used"],
                {**context, "quantity": float(quantity)},
            )
            for quantity, skus in groups
        ])

        quotes: dict[str, PriceQuote] = {}
        for (quantity, _), rows in zip(groups, results, strict=True):
            codes = rpc.product_codes(rows)
            for row in rpc.rows(rows, "id", "sale_price_uom", "list_price_used"):
                unit_price, list_price = row["sale_price_uom"], row["list_price_used"]
                if row["id"] not in codes or unit_price is None:  # None: no list price
                    continue
                if not isinstance(unit_price, Decimal) or not isinstance(list_price, Decimal):
                    rpc.bad("product prices are not Decimal")
                quotes[row["code"]] = PriceQuote(
                    sku=row["code"],
                    customer=customer,
                    quantity=quantity,
                    unit_price=unit_price,
                    currency=catalog.currency,
                    price_list=price_list.get("name") if price_list else None,
                    list_price=list_price,
                )
        return {item.sku: quotes[item.sku] for item in items if item.sku in quotes}

    # -- warehouses and currency -----------------------------------------------------------

    async def _catalog(self) -> _Catalog:
        catalog = self._catalog_state
        if catalog is not None and time.monotonic() - catalog.fetched_at < self._config.catalog_ttl:
            return catalog
        async with self._catalog_lock:
            if self._catalog_state is not catalog and self._catalog_state is not None:
                return self._catalog_state
            self._catalog_state = await self._fetch_catalog()
            return self._catalog_state

    async def _fetch_catalog(self) -> _Catalog:
        session = await self._session()
        company = session.context.get("company")
        if not isinstance(company, int):
            raise ErpBadResponse(f"Tryton user {self._config.username!r} has no company")
        domain: list[Any] = [("type", "=", "warehouse"), ("code", "!=", None)]
        if self._config.warehouses:
            domain.append(("code", "in", self._config.warehouses))
        locations, companies = await rpc.gather([
            self._search_read("stock.location", domain, ["code"], order=[("code", "ASC")]),
            self._rpc("model.company.company.read", [[company], ["currency", "currency.code"]]),
        ])
        found: dict[str, int] = {}
        for row in rpc.rows(locations, "id", "code"):
            if row["code"] in found:
                raise ErpBadResponse(f"several Tryton warehouses have the code {row['code']!r}")
            found[row["code"]] = row["id"]
        wanted = self._config.warehouses or list(found)
        missing = [code for code in wanted if code not in found]
        if missing:
            raise ErpBadResponse(f"no Tryton warehouse with code {', '.join(missing)}")
        company_rows = rpc.rows(companies, "currency", "currency.")
        currency = company_rows[0]["currency."] if company_rows else None
        if not isinstance(currency, dict) or not isinstance(currency.get("code"), str):
            rpc.bad("company currency has no code")
        return _Catalog(
            warehouses=tuple((code, found[code]) for code in wanted),
            currency_id=currency["id"],
            currency=currency["code"],
            fetched_at=time.monotonic(),
        )

    # -- session ---------------------------------------------------------------------------

    async def _session(self) -> _Session:
        session = self._session_state
        if session is not None:
            return session
        async with self._login_lock:
            if self._session_state is not None:
                return self._session_state
            return await self._login()

    async def _relogin(self, stale: _Session) -> _Session:
        async with self._login_lock:
            if self._session_state is not None and self._session_state is not stale:
                return self._session_state  # another caller already logged in again
            log.info("tryton session rejected; logging in again")
            self._session_state = None
            return await self._login()

    async def _login(self) -> _Session:
        """Log in and read the user's context; the caller holds the login lock."""
        cfg = self._config
        if self._login_failure is not None and time.monotonic() < self._login_failure[0]:
            failure = self._login_failure[1]
            raise type(failure)(*failure.args)
        try:
            try:
                result = await self._post(
                    "common.db.login",
                    [cfg.username, {"password": cfg.password.get_secret_value()}],
                    authorization=None,
                )
            except ErpBadResponse as exc:
                raise ErpUnavailable(
                    f"Tryton refused the login of {cfg.username!r}: {exc}"
                ) from None
            if (
                not isinstance(result, list) or len(result) < 2
                or not isinstance(result[0], int) or not isinstance(result[1], str)
            ):
                rpc.bad("common.db.login did not return [user_id, session]")
            token = f"{cfg.username}:{result[0]}:{result[1]}".encode()
            authorization = "Session " + base64.b64encode(token).decode("ascii")
            try:
                preferences = await self._post(
                    "model.res.user.get_preferences", [True, {}], authorization
                )
            except _SessionRejected:
                raise ErpUnavailable("Tryton rejected a session it had just opened") from None
            if not isinstance(preferences, dict):
                rpc.bad("model.res.user.get_preferences did not return an object")
            context = {
                key: value for key, value in preferences.items()
                if key != "locale" and "." not in key
            }
        except ErpError as exc:
            self._login_failure = (time.monotonic() + cfg.login_backoff, exc)
            raise
        self._login_failure = None
        self._session_state = _Session(authorization, context)
        return self._session_state

    # -- transport -------------------------------------------------------------------------

    async def _search_read(
        self,
        model: str,
        domain: list[Any],
        fields: list[str],
        context: Mapping[str, Any] | None = None,
        *,
        order: list[tuple[str, str]] | None = None,
        limit: int | None = None,
    ) -> Any:
        return await self._rpc(
            f"model.{model}.search_read", [domain, 0, limit, order, fields], context
        )

    async def _rpc(
        self, method: str, params: list[Any], context: Mapping[str, Any] | None = None
    ) -> Any:
        """Call an authenticated method; log in again once if the session was rejected."""
        session = await self._session()
        try:
            return await self._post(method, [*params, {**session.context, **(context or {})}],
                                    session.authorization)
        except _SessionRejected:
            session = await self._relogin(session)
        try:
            return await self._post(method, [*params, {**session.context, **(context or {})}],
                                    session.authorization)
        except _SessionRejected:
            raise ErpUnavailable(f"Tryton rejected a fresh session for {method}") from None

    async def _post(self, method: str, params: list[Any], authorization: str | None) -> Any:
        headers = {"Content-Type": "application/json", **outbound_headers()}
        if authorization is not None:
            headers["Authorization"] = authorization
        body = encode_request(next(self._ids), method, params)
        log.debug("tryton rpc %s", method)
        try:
            response = await self._client.post(self._config.rpc_url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise ErpTimeout(
                f"Tryton did not answer {method} in time ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            raise ErpUnavailable(
                f"cannot reach Tryton at {self._config.url}: {type(exc).__name__}: {exc}"
            ) from exc
        if response.status_code == 401 and authorization is not None:
            raise _SessionRejected()
        if response.status_code != 200:
            raise rpc.status_error(response, method, self._config)
        return decode_response(response.content, method)

    async def _bounded(self, call: Awaitable[T], what: str) -> T:
        """Run one public operation, login and retries included, within ``total_timeout``."""
        try:
            async with asyncio.timeout(self._config.total_timeout):
                return await call
        except TimeoutError:
            raise ErpTimeout(
                f"Tryton {what} took longer than {self._config.total_timeout} s"
            ) from None
