"""The operation table: every operation the gateway serves, one row each.

A row is the single source for its operation: method and path, the input models
(path, query, body, headers), the scope it needs (``None``: public), the rate-limit
route group it counts against, the problems and response it documents. From the rows
come the routing (``gateway.dispatch``), validation and bounds before the handler runs,
scope checks and route groups (``policies.chain.RoutePolicy``), metrics labels and the
OpenAPI documents (``gateway.contracts.generator``). Searching for an operation id finds
its row, its handler (named in the row) and its tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any

from pydantic import BaseModel

from carriers.models import Label, LabelRequest, RateRequest, Tracking, VoidResult
from carriers.service import RateShopResult
from gateway.contracts.generator import CONTRACTS_TAG
from gateway.orders.models import OrderOut, OrderPath, OrderRequest
from gateway.routes import (
    admin,
    auth,
    cache_admin,
    catalog,
    contracts,
    health,
    orders,
    shipping,
)
from gateway.schemas.admin import ChangeNotice, PurgeRequest, PurgeResult
from gateway.schemas.common import InventoryQuery, PriceQuery, PricesQuery, SkuPath
from gateway.schemas.headers import IdempotencyHeaders
from gateway.schemas.v1 import InventoryListV1, InventoryV1, PriceListV1, PriceV1
from gateway.schemas.v2 import InventoryListV2, InventoryV2, PriceListV2, PriceV2
from policies.auth import ScopeName
from policies.chain import RoutePolicy

__all__ = ["ROUTE_GROUPS", "Operation", "operations"]

# rate-limit route groups: a plan names limits per group (``[ratelimit.plans.*.limits]``)
ROUTE_GROUPS = ("inventory", "prices", "orders", "labels", "shipping", "admin", "default")


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    handler: Callable[..., Any]
    summary: str
    tag: str
    # API version the operation belongs to ("v1", "v2"), or None for unversioned routes
    version: str | None = None
    # auth scope required; None means public (health, contracts, token, signed webhooks)
    scope: ScopeName | None = None
    group: str = "default"
    path_params: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    headers: type[BaseModel] | None = None
    # a body the handler reads itself, as ``raw`` bytes or from ``request`` (a signed
    # webhook, the OAuth form): documented with this model and media type, not parsed here
    raw_body: type[BaseModel] | None = None
    raw_media_type: str = "application/json"
    response: type[BaseModel] | None = None
    status: int = 200
    # problem statuses this operation documents beyond the ones every route can return
    problems: tuple[int, ...] = ()
    # the errors are this JSON model instead of problem+json (OAuth's token endpoint)
    error_model: type[BaseModel] | None = None
    # the response carries Cache-Status and Age
    cached: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if self.group not in ROUTE_GROUPS:
            raise ValueError(f"{self.operation_id}: unknown route group {self.group!r}")

    @property
    def public(self) -> bool:
        return self.scope is None

    @cached_property
    def policy(self) -> RoutePolicy:
        return RoutePolicy(self.operation_id, self.public, self.scope, self.group)


HEALTH = [
    Operation("healthz", "GET", "/healthz", health.healthz, "Process is up", "operations",
              response=health.Liveness),
    Operation("readyz", "GET", "/readyz", health.readyz,
              "Dependencies reachable (ready, degraded or draining)", "operations",
              response=health.Readiness, problems=(503,)),
]

AUTH = [
    Operation("issueToken", "POST", "/oauth/token", auth.token,
              "OAuth 2.0 client-credentials grant: a JWT access token", "auth",
              raw_body=auth.TokenForm, raw_media_type="application/x-www-form-urlencoded",
              response=auth.TokenResponse, error_model=auth.OAuthError,
              problems=(400, 401, 429),
              description="Client authentication by HTTP Basic (client_secret_basic) or form "
              "fields (client_secret_post), not both. Errors are OAuth 2.0 JSON "
              "(RFC 6749 section 5.2), not problem+json, except 429 (too many failed "
              "attempts for the client id or source address): problem+json with Retry-After "
              "and the OAuth members error (slow_down) and error_description."),
    Operation("getJwks", "GET", "/.well-known/jwks.json", auth.jwks,
              "Public keys that verify the gateway's access tokens (RFC 7517)", "auth",
              response=auth.Jwks),
]

ADMIN = [
    Operation("getCarrierStatus", "GET", "/admin/carriers", admin.carriers,
              "Circuit breaker state of every carrier account on the worker that answers",
              "admin", scope="admin", group="admin", response=admin.CarrierStatus),
    Operation("openCarrierBreaker", "POST", "/admin/carriers/{account}/open",
              admin.open_breaker, "Hold a carrier account's breaker open on the worker that "
              "answers, until reset", "admin", scope="admin", group="admin",
              path_params=admin.AccountPath, response=admin.BreakerAnswer, problems=(404,)),
    Operation("resetCarrierBreaker", "POST", "/admin/carriers/{account}/reset",
              admin.reset_breaker, "Close a carrier account's breaker on the worker that "
              "answers", "admin", scope="admin", group="admin", path_params=admin.AccountPath,
              response=admin.BreakerAnswer, problems=(404,)),
    Operation("getConfig", "GET", "/admin/config", admin.config,
              "The running configuration, credentials redacted", "admin", scope="admin",
              group="admin", response=admin.ConfigAnswer),
    Operation("listClients", "GET", "/admin/clients", admin.clients,
              "Configured clients: scopes, plans, versions, key counts; never the keys",
              "admin", scope="admin", group="admin", response=admin.ClientList),
    Operation("reloadConfig", "POST", "/admin/reload", admin.reload,
              "Re-read the configuration file; an invalid one is refused and the running one "
              "stays", "admin", scope="admin", group="admin", response=admin.ReloadAnswer,
              problems=(422,),
              description="Live: auth (clients, keys), ratelimit plans, versioning, cache "
              "policies, shipping fallback tables, webhooks, log level. Other changes are "
              "listed under restart_required and not applied. Every worker of this server "
              "reloads (SIGHUP does the same)."),
    Operation("purgeCache", "POST", "/admin/cache/purge", cache_admin.purge,
              "Evict cached availability and prices by SKU, customer, price list, or all",
              "admin", scope="admin", group="admin", body=PurgeRequest, response=PurgeResult),
    Operation("erpChangeNotice", "POST", "/webhooks/erp/{source}", cache_admin.erp_webhook,
              "ERP change notice (HMAC-signed): evicts what changed on every replica",
              "webhooks", path_params=cache_admin.SourcePath, raw_body=ChangeNotice,
              response=PurgeResult, problems=(400, 401, 404, 413, 422),
              description="Signed with X-Gateway-Timestamp and X-Gateway-Signature: "
              "v1=<hex HMAC-SHA256(secret, '<timestamp>.' + body)>, at most max_age_seconds "
              "old; or, where the source allows it, Frappe's X-Frappe-Webhook-Signature over "
              "a Frappe document body (item_code, customer, price_list)."),
    Operation("getMetrics", "GET", "/metrics", admin.metrics,
              "Prometheus text exposition of request and component counters", "admin",
              scope="admin", group="admin"),
]


def _catalog(version: str) -> list[Operation]:
    v1 = version == "v1"
    inventory, price = ((catalog.inventory_v1, catalog.price_v1) if v1
                        else (catalog.inventory_v2, catalog.price_v2))
    V = version.upper()
    return [
        Operation(f"getInventory{V}", "GET", f"/{version}/inventory/{{sku}}",
                  partial(catalog.get_inventory, render=inventory),
                  "Availability of one SKU per warehouse" if v1 else
                  "Available-to-promise of one SKU per warehouse, with the next receipt",
                  "inventory", version=version, scope="inventory:read", group="inventory",
                  path_params=SkuPath, response=InventoryV1 if v1 else InventoryV2,
                  problems=(503, 504), cached=True),
        Operation(f"queryInventory{V}", "POST", f"/{version}/inventory/query",
                  partial(catalog.query_inventory, render=inventory),
                  "Availability of up to 100 SKUs" if v1 else
                  "Available-to-promise of up to 100 SKUs", "inventory", version=version,
                  scope="inventory:read", group="inventory", body=InventoryQuery,
                  response=InventoryListV1 if v1 else InventoryListV2, problems=(503, 504),
                  cached=True),
        Operation(f"getPrice{V}", "GET", f"/{version}/prices/{{sku}}",
                  partial(catalog.get_price, render=price),
                  "Customer price of one SKU at a quantity" if v1 else
                  "Customer price of one SKU at a quantity, money as decimal strings", "prices",
                  version=version, scope="prices:read", group="prices", path_params=SkuPath,
                  # 400: a query parameter with control characters
                  query=PriceQuery, response=PriceV1 if v1 else PriceV2,
                  problems=(400, 503, 504),
                  cached=True),
        Operation(f"queryPrices{V}", "POST", f"/{version}/prices/query",
                  partial(catalog.query_prices, render=price),
                  "Customer prices of up to 100 SKUs" if v1 else
                  "Customer prices of up to 100 SKUs, money as decimal strings", "prices",
                  version=version, scope="prices:read", group="prices", body=PricesQuery,
                  response=PriceListV1 if v1 else PriceListV2, problems=(404, 503, 504),
                  cached=True),
    ]


def _shipping(version: str) -> list[Operation]:
    V = version.upper()
    return [
        Operation(f"rateShop{V}", "POST", f"/{version}/shipping/rates", shipping.rate_shop,
                  "Rate-shop across the warehouse's carriers", "shipping", version=version,
                  scope="shipping:rate", group="shipping", body=RateRequest,
                  response=RateShopResult,
                  description="Carriers are asked concurrently under one deadline. A carrier "
                  "whose breaker is open, that timed out or failed with 5xx is replaced by "
                  "fallback table rates (source=fallback, with the reason) next to the other "
                  "carriers' live rates; its messages say why."),
        Operation(f"buyLabel{V}", "POST", f"/{version}/shipping/labels",
                  partial(shipping.buy_label, reprint=f"/{version}/shipping/labels/"),
                  "Buy a label, exactly once per Idempotency-Key", "shipping", version=version,
                  scope="labels:write", group="labels", body=LabelRequest,
                  headers=IdempotencyHeaders, response=Label, status=201,
                  problems=(409, 503),
                  description="Never falls back to table rates: an unavailable carrier answers "
                  "503 with Retry-After, and the retry with the same key buys at most once."),
        Operation(f"getLabel{V}", "GET", f"/{version}/shipping/labels/{{label_id}}",
                  shipping.get_label, "Reprint a bought label", "shipping", version=version,
                  scope="labels:write", group="shipping", path_params=shipping.LabelPath,
                  response=Label),
        Operation(f"voidLabel{V}", "DELETE", f"/{version}/shipping/labels/{{label_id}}",
                  shipping.void_label, "Void a bought label", "shipping", version=version,
                  scope="labels:write", group="shipping", path_params=shipping.LabelPath,
                  response=VoidResult, problems=(409, 503),
                  description="409 when the carrier refuses (already manifested, too late); "
                  "the problem carries the carrier's own words."),
        Operation(f"track{V}", "GET",
                  f"/{version}/shipping/tracking/{{carrier}}/{{tracking_number}}",
                  shipping.track, "Tracking history, normalized status", "shipping",
                  version=version, scope="tracking:read", group="shipping",
                  path_params=shipping.TrackingPath, response=Tracking, problems=(503,)),
    ]


def _orders(version: str) -> list[Operation]:
    V = version.upper()
    return [
        Operation(f"placeOrder{V}", "POST", f"/{version}/orders",
                  partial(orders.place_order, location=f"/{version}/orders/"),
                  "Place a sales order in the ERP, exactly once per Idempotency-Key", "orders",
                  version=version, scope="orders:write", group="orders", body=OrderRequest,
                  headers=IdempotencyHeaders, response=OrderOut, status=201,
                  problems=(409, 503, 504),
                  description="Availability and prices are read fresh from the ERP (never "
                  "the cache) while the order's stock is held, so two channels ordering the "
                  "last unit get one order and one refusal. 409 names every line that would "
                  "oversell with what is available, or every line whose unit_price differs "
                  "from the ERP's by more than the tolerance (both prices). The order is "
                  "created in the ERP and confirmed; a retry with the same key answers the "
                  "same order (Idempotent-Replayed: true), another body with that key is 422, "
                  "and a retry after a lost answer finds the order by its reference instead "
                  "of creating a second one. An accepted order evicts its SKUs' cached "
                  "availability on every replica."),
        Operation(f"getOrder{V}", "GET", f"/{version}/orders/{{order_id}}", orders.get_order,
                  "The ERP's state of one of the caller's orders, with shipments and tracking",
                  "orders", version=version, scope="orders:read", group="orders",
                  path_params=OrderPath,
                  response=OrderOut, problems=(503, 504),
                  description="Another client's order is not found (404)."),
        Operation(f"cancelOrder{V}", "POST", f"/{version}/orders/{{order_id}}/cancel",
                  orders.cancel_order, "Cancel one of the caller's orders where the ERP allows",
                  "orders", version=version, scope="orders:write", group="orders",
                  path_params=OrderPath,
                  response=OrderOut, problems=(409, 503, 504),
                  description="409 with the ERP's reason when it will not cancel (the order "
                  "is already shipping)."),
    ]


CONTRACTS = [
    Operation("getOpenApiDocument", "GET", "/openapi/{version}.json",
              contracts.openapi_document,
              "OpenAPI 3.1 document of one API version (v1, v2 …) or of the platform API",
              CONTRACTS_TAG, path_params=contracts.DocumentPath),
    Operation("getDocs", "GET", "/docs", contracts.docs_page, "Human-readable API reference",
              CONTRACTS_TAG),
    Operation("getDocsAsset", "GET", "/docs/assets/{name}", contracts.docs_asset,
              "Script and style sheet of the docs page", CONTRACTS_TAG,
              path_params=contracts.AssetPath),
]


def operations() -> list[Operation]:
    """Every operation, storefront reads (the hot path) first."""
    return [*_catalog("v1"), *_catalog("v2"), *_shipping("v1"), *_shipping("v2"),
            *_orders("v1"), *_orders("v2"), *HEALTH, *AUTH, *ADMIN, *CONTRACTS]
