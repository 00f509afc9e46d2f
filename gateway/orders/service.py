"""Placing, reading and cancelling orders: the flow over the ERP, holds and records.

Placing an order, once per (owner, Idempotency-Key):

1. claim the record; a duplicate follows the first request's record instead (same order
   again, 422 for another body, 409 + Retry-After while it is still being placed);
2. refuse a channel reference the customer already has an order under (unless this is
   a takeover after a crash, which adopts that order: it was ours and never answered);
3. hold every (SKU, warehouse) the order may draw from; read availability and prices
   fresh from the ERP (never the cache); refuse unknown SKUs, units that are not the
   sale unit, lines that would oversell (each with what is available) and lines whose
   expected price is off by more than the tolerance (both prices);
4. create the order in the ERP (quoted and confirmed); release the holds;
5. settle the record and evict the cached availability of its SKUs on every replica.

Failures before the ERP call leave nothing behind (the record is dropped, the key may
be sent again). A failure of the ERP call itself may hide a created order: the record
turns ``unknown`` and the retry looks the order up by the channel's reference.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from carriers.idempotency import (
    IdempotencyRecord,
    RecordState,
    fingerprint,
)
from gateway.catalog import CatalogService, stock_tags
from gateway.erp.base import (
    Address,
    ErpConnector,
    NewOrder,
    Order,
    OrderLine,
    OrderNotFound,
    OrderRefused,
    PriceItem,
    PriceQuote,
    PriceUnavailable,
    UnknownCustomer,
)
from gateway.orders import checks
from gateway.orders.config import OrdersConfig
from gateway.orders.models import OrderRequest
from gateway.orders.records import OrderRecords
from gateway.orders.reservations import (
    ReservationBusy,
    Reservations,
    ReservationUnavailable,
)
from policies.problems import Conflict, ServiceUnavailable, Unprocessable


@dataclass(frozen=True, slots=True)
class Placed:
    order: Order
    # True when the order existed before this request (a retry, or a crash recovered)
    replayed: bool


def _field_error(pointer: str, detail: str) -> dict[str, str]:
    return {"pointer": pointer, "detail": detail}


class OrderService:
    def __init__(self, erp: ErpConnector, catalog: CatalogService, records: OrderRecords,
                 reservations: Reservations, config: OrdersConfig, *,
                 on_close: Callable[[], Awaitable[None]] | None = None) -> None:
        self.erp = erp
        self._on_close = on_close
        self.catalog = catalog
        self.records = records
        self.reservations = reservations
        self.config = config
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- placing ---------------------------------------------------------------------------

    async def place(self, owner: str, key: str, request: OrderRequest) -> Placed:
        """Create the order once for this key, or answer what the first request got."""
        body = fingerprint(request)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.config.duplicate_wait_seconds
        delay = 0.02
        claim = await self.records.claim(owner, key, body)
        if claim.won:
            return await self._shielded(self._own(claim.record, request, recover=False))
        record: IdempotencyRecord | None = claim.record
        while True:
            if record is None:  # expired meanwhile: claim afresh
                claim = await self.records.claim(owner, key, body)
                if claim.won:
                    return await self._shielded(self._own(claim.record, request, recover=False))
                record = claim.record
            if record.fingerprint != body:
                raise Unprocessable("this Idempotency-Key was already used with a different "
                                    "order; use a new key for a different order")
            if record.state is RecordState.COMPLETED:
                return Placed(await self.erp.get_order(record.label_id), replayed=True)
            if record.state is not RecordState.IN_PROGRESS or self.records.lease_expired(record):
                taken = await self.records.take_over(record)
                if taken is not None:
                    return await self._shielded(self._own(taken, request, recover=True))
            elif loop.time() >= give_up:
                raise Conflict("an order with this Idempotency-Key is still being placed; "
                               "retry shortly with the same key", headers={"Retry-After": "1"})
            else:
                # another request (maybe on another replica) owns it: poll its record
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)
            record = await self.records.get(owner, key)

    async def _own(self, record: IdempotencyRecord, request: OrderRequest, *,
                   recover: bool) -> Placed:
        owner = record.client_id
        try:
            existing = await self.erp.find_order(request.customer, request.reference)
            if existing is not None:
                if recover and existing.channel == owner:
                    await self.records.complete(record, existing.id)
                    await self._evict(existing)
                    return Placed(existing, replayed=True)
                raise Conflict(f"customer {request.customer} already has an order with the "
                               f"reference {request.reference!r}; a retry must resend the "
                               "Idempotency-Key of the first request",
                               extensions={"reference": request.reference})
            order = await self._create(owner, request)
        except _Attempted as exc:
            await self.records.unknown(record)
            raise exc.__cause__ or exc from None
        except BaseException:
            await self.records.drop(record)
            raise
        await self.records.complete(record, order.id)
        await self._evict(order)
        return Placed(order, replayed=False)

    async def _create(self, owner: str, request: OrderRequest) -> Order:
        warehouses = list(await self.erp.warehouses())
        if request.warehouse != "any" and request.warehouse not in warehouses:
            raise Unprocessable(
                f"unknown warehouse {request.warehouse}; the ERP has {', '.join(warehouses)}",
                extensions={"errors": [_field_error("#/warehouse", "unknown warehouse")]})
        skus = list(dict.fromkeys(line.sku for line in request.lines))
        if len(skus) != len(request.lines):
            raise Unprocessable("each SKU may appear on one line only; add the quantities up",
                                extensions={"errors": [
                                    _field_error(f"#/lines/{i}/sku", "repeats an earlier line")
                                    for i, line in enumerate(request.lines)
                                    if skus.index(line.sku) != i]})
        draw_from = warehouses if request.warehouse == "any" else [request.warehouse]
        holds = [(sku, warehouse) for sku in skus for warehouse in draw_from]
        try:
            async with self.reservations.hold(holds):
                return await self._check_and_create(owner, request, warehouses)
        except ReservationBusy as exc:
            raise Conflict(str(exc), headers={"Retry-After": "1"}) from None
        except ReservationUnavailable as exc:
            raise ServiceUnavailable(f"orders are not taken while stock cannot be reserved: "
                                     f"{exc}", retry_after=5) from None

    async def _check_and_create(self, owner: str, request: OrderRequest,
                                warehouses: list[str]) -> Order:
        lines = request.lines
        try:
            async with asyncio.TaskGroup() as group:
                stock_task = group.create_task(self.erp.availability([x.sku for x in lines]))
                price_task = group.create_task(self.erp.prices(
                    request.customer, [PriceItem(x.sku, x.quantity) for x in lines]))
        except BaseExceptionGroup as failures:
            first = failures.exceptions[0]
            if isinstance(first, UnknownCustomer):
                raise Unprocessable(str(first), extensions={"errors": [
                    _field_error("#/customer", "not known to the ERP")]}) from None
            raise first from None
        stock, prices = stock_task.result(), price_task.result()
        errors = []
        quotes: dict[str, PriceQuote] = {}
        for index, line in enumerate(lines):
            found = prices.get(line.sku)
            if line.sku not in stock or found is None:
                errors.append(_field_error(f"#/lines/{index}/sku",
                                           f"{line.sku} is not known to the ERP"))
            elif isinstance(found, PriceUnavailable):
                errors.append(_field_error(f"#/lines/{index}/sku", found.reason))
            elif line.unit is not None and line.unit != found.unit:
                errors.append(_field_error(f"#/lines/{index}/unit",
                                           f"{line.sku} is sold per {found.unit}"))
            else:
                quotes[line.sku] = found
        if errors:
            raise Unprocessable("; ".join(e["detail"] for e in errors),
                                extensions={"errors": errors})
        needed = checks.stock_needed(lines, quotes)
        warehouse = checks.choose_warehouse(request.warehouse, warehouses, needed, stock)
        short = checks.shortfalls(lines, warehouse, needed, stock, quotes)
        if short:
            raise Conflict(
                "not enough stock in " + warehouse + ": " + "; ".join(
                    f"line {s.line} ({s.sku}) asks {s.requested} {s.unit}, "
                    f"{s.available.normalize():f} available" for s in short),
                extensions={"lines": [s.problem_entry() for s in short]})
        differences = checks.price_differences(lines, quotes, self.config.price_tolerance)
        if differences:
            raise Conflict(
                "the ERP's prices differ from the expected ones: " + "; ".join(
                    f"line {d.line} ({d.sku}) expected {d.expected} {d.currency}, the ERP "
                    f"charges {d.erp}" for d in differences),
                extensions={"lines": [d.problem_entry() for d in differences],
                            "tolerance": str(self.config.price_tolerance)})
        order = NewOrder(
            customer=request.customer, reference=request.reference, channel=owner,
            warehouse=warehouse,
            lines=tuple(OrderLine(x.sku, x.quantity, quotes[x.sku].unit_price) for x in lines),
            ship_to=Address(name=request.ship_to.name, street=tuple(request.ship_to.street),
                            city=request.ship_to.city, postal_code=request.ship_to.postal_code,
                            country=request.ship_to.country, region=request.ship_to.state))
        try:
            return await self.erp.create_order(order)
        except (OrderRefused, UnknownCustomer) as exc:
            raise Conflict(f"the ERP refused the order: {exc}") from None
        except BaseException as exc:
            # the ERP may have created it: the caller marks the record for a look-up
            raise _Attempted() from exc

    # -- reading and cancelling ------------------------------------------------------------

    async def get(self, owner: str, order_id: str) -> Order:
        """The caller's order as the ERP has it now; someone else's is not found."""
        order = await self.erp.get_order(order_id)
        if order.channel != owner:
            raise OrderNotFound(order_id)
        return order

    async def cancel(self, owner: str, order_id: str) -> Order:
        await self.get(owner, order_id)
        try:
            order = await self.erp.cancel_order(order_id)
        except OrderRefused as exc:
            raise Conflict(f"the ERP will not cancel order {order_id}: {exc}") from None
        await self._evict(order)
        return order

    async def drain(self) -> None:
        """Wait for order placements whose callers went away."""
        if self._tasks:
            await asyncio.wait(set(self._tasks))

    async def aclose(self) -> None:
        """Drain, then release what the service was built with (``on_close``)."""
        await self.drain()
        if self._on_close is not None:
            await self._on_close()

    # -- helpers ---------------------------------------------------------------------------

    async def _evict(self, order: Order) -> None:
        await self.catalog.cache.invalidate(stock_tags([line.sku for line in order.lines]))

    async def _shielded(self, work: Coroutine[Any, Any, Placed]) -> Placed:
        # a caller that goes away must not leave its record in progress or its holds taken
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return await asyncio.shield(task)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: the shielded caller may be gone


class _Attempted(Exception):
    """The ERP call to create the order failed after it may have reached the ERP."""

