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
import json
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, NoReturn, TypeVar
from urllib.parse import quote

import httpx
import pydantic

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


class TrytonConfig(pydantic.BaseModel):
    """``[erp]`` table with ``kind = "tryton"``."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    kind: Literal["tryton"] = "tryton"
    url: str = pydantic.Field(description="base URL of trytond, e.g. http://127.0.0.1:8000")
    database: str
    username: str
    password: pydantic.SecretStr
    connect_timeout: float = pydantic.Field(2.0, gt=0)
    read_timeout: float = pydantic.Field(5.0, gt=0)
    total_timeout: float = pydantic.Field(8.0, gt=0)
    max_connections: int = pydantic.Field(20, ge=1)
    # codes of the warehouses to report, in this order; None reports every coded warehouse
    warehouses: list[str] | None = None
    # how long warehouse ids and the company currency are reused before being read again
    catalog_ttl: float = pydantic.Field(300.0, ge=0)
    # after a failed login, callers get that failure for this long instead of a new attempt
    # (Tryton slows down and then rate-limits repeated failed logins)
    login_backoff: float = pydantic.Field(5.0, ge=0)

    @pydantic.field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        try:
            url = httpx.URL(value.strip())
        except (httpx.InvalidURL, TypeError) as exc:
            raise ValueError(f"not a URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an absolute http:// or https:// URL")
        if url.userinfo:
            raise ValueError("must not carry credentials; use username and password")
        if url.query or url.fragment:
            raise ValueError("must not have a query or fragment")
        return str(url).rstrip("/")

    @pydantic.field_validator("database", "username")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @pydantic.field_validator("password")
    @classmethod
    def _check_password(cls, value: pydantic.SecretStr) -> pydantic.SecretStr:
        if not value.get_secret_value():
            raise ValueError("must not be empty")
        return value

    @pydantic.field_validator("warehouses")
    @classmethod
    def _check_warehouses(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("list at least one warehouse code, or leave it out for all")
        if any(not code.strip() for code in value):
            raise ValueError("warehouse codes must not be empty")
        duplicates = sorted({code for code in value if value.count(code) > 1})
        if duplicates:
            raise ValueError(f"duplicate warehouse codes: {', '.join(duplicates)}")
        return value

    @pydantic.model_validator(mode="after")
    def _check_budget(self) -> TrytonConfig:
        if self.total_timeout < self.connect_timeout:
            raise ValueError(
                f"total_timeout ({self.total_timeout}) must be at least "
                f"connect_timeout ({self.connect_timeout})"
            )
        return self

    @property
    def rpc_url(self) -> str:
        return f"{self.url}/{quote(self.database, safe='')}/rpc/"


# --- JSON-RPC wire format: pure functions -------------------------------------------------


def encode_value(obj: object) -> object:
    """``json.dumps`` hook: Tryton's class-tagged objects for Decimal, datetime and date."""
    if isinstance(obj, Decimal):
        return {"__class__": "Decimal", "decimal": str(obj)}
    if isinstance(obj, dt.datetime):
        return {
            "__class__": "datetime", "year": obj.year, "month": obj.month, "day": obj.day,
            "hour": obj.hour, "minute": obj.minute, "second": obj.second,
            "microsecond": obj.microsecond,
        }
    if isinstance(obj, dt.date):
        return {"__class__": "date", "year": obj.year, "month": obj.month, "day": obj.day}
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    raise TypeError(f"cannot send {type(obj).__name__} to Tryton")


def decode_object(obj: dict[str, Any]) -> Any:
    """``json.loads`` object hook: turn Tryton's class-tagged objects back into values."""
    match obj.get("__class__"):
        case "Decimal":
            return Decimal(obj["decimal"])
        case "date":
            return dt.date(obj["year"], obj["month"], obj["day"])
        case "datetime":
            return dt.datetime(
                obj["year"], obj["month"], obj["day"],
                obj["hour"], obj["minute"], obj["second"], obj["microsecond"],
            )
        case "time":
            return dt.time(obj["hour"], obj["minute"], obj["second"], obj["microsecond"])
        case "timedelta":
            return dt.timedelta(seconds=obj["seconds"])
        case "bytes":
            return base64.b64decode(obj["base64"])
    return obj


def encode_request(request_id: int, method: str, params: Sequence[Any]) -> bytes:
    payload = {"id": request_id, "method": method, "params": list(params)}
    return json.dumps(payload, default=encode_value, separators=(",", ":")).encode()


def decode_response(body: bytes, method: str) -> Any:
    """The ``result`` of a JSON-RPC answer; ``ErpBadResponse`` for faults and garbage."""
    try:
        payload = json.loads(body, object_hook=decode_object)
    except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
        raise ErpBadResponse(f"Tryton answered {method} with invalid JSON-RPC: {exc}") from None
    if not isinstance(payload, dict):
        raise ErpBadResponse(f"Tryton answered {method} with a non-object payload")
    if payload.get("error") is not None:
        raise ErpBadResponse(f"Tryton {method} failed: {_fault_message(payload['error'])}")
    if "result" not in payload:
        raise ErpBadResponse(f"Tryton answered {method} without a result")
    return payload["result"]


def _fault_message(error: object) -> str:
    # UserError args are (message, description, …); other exceptions (str, traceback)
    first = error[0] if isinstance(error, list) and error else error
    return str(first)[:200]


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
        results = await _gather(calls)

        codes: dict[int, str] = {}
        stock: dict[str, list[WarehouseStock]] = defaultdict(list)
        if not catalog.warehouses:
            codes.update(_product_codes(results[0]))
        for index, (wh_code, _) in enumerate(catalog.warehouses):
            on_hand_rows, free_rows, receipts = results[3 * index: 3 * index + 3]
            codes.update(_product_codes(on_hand_rows))
            free = {row["id"]: row for row in _rows(free_rows, "id", "quantity")}
            for row in _rows(on_hand_rows, "id", "quantity"):
                product_id = row["id"]
                if product_id not in codes:
                    continue
                free_row = free.get(product_id, {})
                # available = free storage stock (Tryton's stock_assign quantity) capped by
                # the storage forecast (planned outgoing moves), never below zero
                available = min(
                    _qty(free_row.get("quantity")), _qty(free_row.get("forecast_quantity"))
                )
                receipt_date, receipt_qty = receipts.get(product_id, (None, None))
                stock[codes[product_id]].append(
                    WarehouseStock(
                        warehouse=wh_code,
                        on_hand=_qty(row["quantity"]),
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
        for row in _rows(rows, "product", "planned_date", "internal_quantity"):
            product_id, date = row["product"], row["planned_date"]
            if not isinstance(date, dt.date):
                _bad("stock.move planned_date is not a date")
            seen = earliest.get(product_id)
            if seen is None:
                earliest[product_id] = (date, _qty(row["internal_quantity"]))
            elif seen[0] == date:
                earliest[product_id] = (date, seen[1] + _qty(row["internal_quantity"]))
        return earliest

    # -- prices ----------------------------------------------------------------------------

    async def _prices(self, customer: str, items: Sequence[PriceItem]) -> dict[str, PriceQuote]:
        parties, catalog = await _gather([
            self._search_read(
                "party.party", [("code", "=", customer)], ["code", "sale_price_list.name"],
                limit=1,
            ),
            self._catalog(),
        ])
        if not parties:
            raise UnknownCustomer(customer)
        party = _rows(parties, "id")[0]
        price_list = party.get("sale_price_list.")
        if price_list is not None and not isinstance(price_list, dict):
            _bad("party.party sale_price_list is not a record")

        quantities = {item.sku: item.quantity for item in items}
        by_quantity: dict[Decimal, list[str]] = defaultdict(list)
        for sku, quantity in quantities.items():
            by_quantity[quantity].append(sku)
        context: dict[str, Any] = {"customer": party["id"], "currency": catalog.currency_id}
        if price_list:
            context["price_list"] = price_list["id"]
        groups = list(by_quantity.items())
        results = await _gather([
            self._search_read(
                "product.product", [("code", "in", skus)],
                ["code", "sale_price_uom", "list_price_used"],
                {**context, "quantity": float(quantity)},
            )
            for quantity, skus in groups
        ])

        quotes: dict[str, PriceQuote] = {}
        for (quantity, _), rows in zip(groups, results, strict=True):
            codes = _product_codes(rows)
            for row in _rows(rows, "id", "sale_price_uom", "list_price_used"):
                unit_price, list_price = row["sale_price_uom"], row["list_price_used"]
                if row["id"] not in codes or unit_price is None:  # None: no list price
                    continue
                if not isinstance(unit_price, Decimal) or not isinstance(list_price, Decimal):
                    _bad("product prices are not Decimal")
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
        locations, companies = await _gather([
            self._search_read("stock.location", domain, ["code"], order=[("code", "ASC")]),
            self._rpc("model.company.company.read", [[company], ["currency", "currency.code"]]),
        ])
        found: dict[str, int] = {}
        for row in _rows(locations, "id", "code"):
            if row["code"] in found:
                raise ErpBadResponse(f"several Tryton warehouses have the code {row['code']!r}")
            found[row["code"]] = row["id"]
        wanted = self._config.warehouses or list(found)
        missing = [code for code in wanted if code not in found]
        if missing:
            raise ErpBadResponse(f"no Tryton warehouse with code {', '.join(missing)}")
        company_rows = _rows(companies, "currency", "currency.")
        currency = company_rows[0]["currency."] if company_rows else None
        if not isinstance(currency, dict) or not isinstance(currency.get("code"), str):
            _bad("company currency has no code")
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
                _bad("common.db.login did not return [user_id, session]")
            token = f"{cfg.username}:{result[0]}:{result[1]}".encode()
            authorization = "Session " + base64.b64encode(token).decode("ascii")
            try:
                preferences = await self._post(
                    "model.res.user.get_preferences", [True, {}], authorization
                )
            except _SessionRejected:
                raise ErpUnavailable("Tryton rejected a session it had just opened") from None
            if not isinstance(preferences, dict):
                _bad("model.res.user.get_preferences did not return an object")
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
            raise _status_error(response, method, self._config)
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


def _status_error(response: httpx.Response, method: str, config: TrytonConfig) -> ErpError:
    status = response.status_code
    error: ErpError
    if status in (408, 504):
        return ErpTimeout(f"Tryton timed out on {method} (HTTP {status})")
    if status == 401:
        return ErpUnavailable(
            f"Tryton refused the credentials of {config.username!r} on {config.database!r}"
        )
    if status == 404:
        return ErpUnavailable(f"Tryton has no database {config.database!r} (HTTP 404)")
    if status in (429, 502, 503):
        error = ErpUnavailable(f"Tryton is not serving {method} (HTTP {status})")
        retry_after = response.headers.get("Retry-After", "")
        if retry_after.isdigit():
            error.retry_after = int(retry_after)
        return error
    return ErpBadResponse(f"Tryton answered {method} with HTTP {status}")


async def _gather(calls: Sequence[Awaitable[Any]]) -> list[Any]:
    """Run calls concurrently; on the first failure cancel the rest and raise that failure."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_awaited(call)) for call in calls]
    except BaseExceptionGroup as failures:
        raise _first_leaf(failures) from None
    return [task.result() for task in tasks]


async def _awaited(call: Awaitable[T]) -> T:
    return await call


def _first_leaf(group: BaseExceptionGroup[Any]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def _rows(result: Any, *keys: str) -> list[dict[str, Any]]:
    """Check a search_read / read result is a list of records carrying ``keys``."""
    if not isinstance(result, list) or not all(
        isinstance(row, dict) and all(key in row for key in keys) for row in result
    ):
        _bad(f"expected records with {', '.join(keys)}")
    return result


def _product_codes(rows: Any) -> dict[int, str]:
    """Product id -> code; when several products share a code, the oldest stands for it."""
    by_code: dict[str, int] = {}
    for row in sorted(_rows(rows, "id", "code"), key=lambda row: row["id"]):
        by_code.setdefault(row["code"], row["id"])
    return {product_id: code for code, product_id in by_code.items()}


def _qty(value: Any) -> Decimal:
    """Tryton quantities are floats; ``repr`` gives the shortest exact decimal spelling."""
    if value is None:
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        _bad(f"quantity {value!r} is not a number")
    return value if isinstance(value, Decimal) else Decimal(repr(value))


def _bad(what: str) -> NoReturn:
    raise ErpBadResponse(f"unexpected Tryton payload: {what}")
