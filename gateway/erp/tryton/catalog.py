"""What rarely changes in a Tryton database, read once per ``catalog_ttl``: the reported
warehouses, the company and its currency, currency codes, the sale configuration's default
price list (what a customer without its own list is priced with)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from gateway.erp.base import ErpBadResponse
from gateway.erp.tryton import wire
from gateway.erp.tryton.session import TrytonSession


@dataclass(frozen=True, slots=True)
class PriceListRef:
    id: int
    name: str
    tax_included: bool


@dataclass(frozen=True, slots=True)
class Catalog:
    warehouses: tuple[tuple[str, int], ...]  # (code, id), in report order
    company: int
    currency_id: int
    currency: str
    currencies: dict[int, str]  # id -> ISO code
    default_price_list: PriceListRef | None
    fetched_at: float
    # every location inside a reported warehouse -> that warehouse's id
    locations: dict[int, int]

    def warehouse_id(self, code: str) -> int | None:
        return next((wh_id for wh_code, wh_id in self.warehouses if wh_code == code), None)

    def warehouse_code(self, wh_id: int) -> str | None:
        return next((code for code, found in self.warehouses if found == wh_id), None)


def price_list_ref(value: Any) -> PriceListRef | None:
    """A ``sale_price_list.`` record read with ``name`` and ``tax_included``."""
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("id"), int):
        wire.bad("sale_price_list is not a record")
    return PriceListRef(value["id"], str(value.get("name") or value["id"]),
                        bool(value.get("tax_included")))


class CatalogReader:
    """The cached ``Catalog``; concurrent callers after its expiry share one read."""

    def __init__(self, session: TrytonSession) -> None:
        self._session = session
        self._state: Catalog | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Catalog:
        catalog = self._state
        ttl = self._session.config.catalog_ttl
        if catalog is not None and time.monotonic() - catalog.fetched_at < ttl:
            return catalog
        async with self._lock:
            if self._state is not catalog and self._state is not None:
                return self._state
            self._state = await self._fetch()
            return self._state

    async def _fetch(self) -> Catalog:
        session = self._session
        config = session.config
        company = (await session.context()).get("company")
        if not isinstance(company, int):
            raise ErpBadResponse(f"Tryton user {config.username!r} has no company")
        domain: list[Any] = [("type", "=", "warehouse"), ("code", "!=", None)]
        if config.warehouses:
            domain.append(("code", "in", config.warehouses))
        locations, companies, currencies, configuration = await wire.gather([
            session.search_read("stock.location", domain, ["code"], order=[("code", "ASC")]),
            session.call("model.company.company.read", [[company], ["currency"]]),
            session.search_read("currency.currency", [], ["code"]),
            session.call("model.sale.configuration.read", [
                [1], ["sale_price_list.name", "sale_price_list.tax_included"]]),
        ])
        found: dict[str, int] = {}
        for row in wire.rows(locations, "id", "code"):
            if row["code"] in found:
                raise ErpBadResponse(f"several Tryton warehouses have the code {row['code']!r}")
            found[row["code"]] = row["id"]
        wanted = config.warehouses or list(found)
        missing = [code for code in wanted if code not in found]
        if missing:
            raise ErpBadResponse(f"no Tryton warehouse with code {', '.join(missing)}")
        codes = {row["id"]: str(row["code"]) for row in wire.rows(currencies, "id", "code")}
        company_rows = wire.rows(companies, "currency")
        currency_id = company_rows[0]["currency"] if company_rows else None
        if not isinstance(currency_id, int) or currency_id not in codes:
            wire.bad("company currency has no code")
        settings = wire.rows(configuration)
        default = price_list_ref(settings[0].get("sale_price_list.")) if settings else None
        trees = await wire.gather([
            session.search_read("stock.location", [("parent", "child_of", [found[code]])],
                                ["id"]) for code in wanted])
        locations = {row["id"]: found[code] for code, tree in zip(wanted, trees, strict=True)
                     for row in wire.rows(tree, "id")}
        return Catalog(
            locations=locations,
            warehouses=tuple((code, found[code]) for code in wanted),
            company=company,
            currency_id=currency_id,
            currency=codes[currency_id],
            currencies=codes,
            default_price_list=default,
            fetched_at=time.monotonic(),
        )
