"""The route table: every operation the gateway serves, by version."""

from __future__ import annotations

from carriers.models import Label, LabelRequest, RateRequest, Tracking, VoidResult
from carriers.service import RateShopResult
from gateway.api.admin import ChangeNotice, PurgeResult
from gateway.api.common import InventoryQuery, PriceQuery, PricesQuery, SkuPath
from gateway.api.v1 import InventoryListV1, InventoryV1, PriceListV1, PriceV1
from gateway.api.v2 import InventoryListV2, InventoryV2, PriceListV2, PriceV2
from gateway.contract import Operation
from gateway.routes import admin, cache_admin, catalog, contracts, health, shipping

HEALTH = [
    Operation("healthz", "GET", "/healthz", health.healthz, "Process is up", "operations"),
    Operation("readyz", "GET", "/readyz", health.readyz,
              "Dependencies reachable (ready, degraded or draining)", "operations",
              problems=(503,)),
]

ADMIN = [
    Operation("getCarrierStatus", "GET", "/admin/carriers", admin.carriers,
              "Circuit breaker state of every carrier account on this replica", "admin",
              scope="admin", response=admin.CarrierStatus),
    Operation("purgeCache", "POST", "/admin/cache/purge", cache_admin.purge,
              "Evict cached availability and prices by SKU, customer, price list, or all",
              "admin", scope="admin", body=ChangeNotice, response=PurgeResult,
              problems=(400, 413, 415)),
    Operation("erpChangeNotice", "POST", "/webhooks/erp/{source}", cache_admin.erp_webhook,
              "ERP change notice (HMAC-signed): evicts what changed on every replica",
              "webhooks", path_params=cache_admin.SourcePath, body=ChangeNotice,
              response=PurgeResult, problems=(400, 401, 404, 413),
              description="Signed with X-Gateway-Timestamp and X-Gateway-Signature: "
              "v1=<hex HMAC-SHA256(secret, '<timestamp>.' + body)>, at most max_age_seconds "
              "old; or, where the source allows it, Frappe's X-Frappe-Webhook-Signature over "
              "a Frappe document body (item_code, customer, price_list)."),
    Operation("getMetrics", "GET", "/metrics", admin.metrics,
              "Prometheus text exposition of request and component counters", "admin",
              scope="admin"),
]

V1 = [
    Operation("getInventoryV1", "GET", "/v1/inventory/{sku}",
              catalog.rendering(catalog.get_inventory, catalog.inventory_v1),
              "Availability of one SKU per warehouse", "inventory", version="v1",
              scope="inventory:read", path_params=SkuPath, response=InventoryV1,
              problems=(404, 503, 504), cached=True),
    Operation("queryInventoryV1", "POST", "/v1/inventory/query",
              catalog.rendering(catalog.query_inventory, catalog.inventory_v1),
              "Availability of up to 100 SKUs", "inventory", version="v1",
              scope="inventory:read", body=InventoryQuery, response=InventoryListV1,
              problems=(400, 413, 415, 503, 504), cached=True),
    Operation("getPriceV1", "GET", "/v1/prices/{sku}",
              catalog.rendering(catalog.get_price, catalog.price_v1),
              "Customer price of one SKU at a quantity", "prices", version="v1",
              scope="prices:read", path_params=SkuPath, query=PriceQuery, response=PriceV1,
              problems=(404, 503, 504), cached=True),
    Operation("queryPricesV1", "POST", "/v1/prices/query",
              catalog.rendering(catalog.query_prices, catalog.price_v1),
              "Customer prices of up to 100 SKUs", "prices", version="v1",
              scope="prices:read", body=PricesQuery, response=PriceListV1,
              problems=(400, 404, 413, 415, 503, 504), cached=True),
]

V2 = [
    Operation("getInventoryV2", "GET", "/v2/inventory/{sku}",
              catalog.rendering(catalog.get_inventory, catalog.inventory_v2),
              "Available-to-promise of one SKU per warehouse, with the next receipt",
              "inventory", version="v2", scope="inventory:read", path_params=SkuPath,
              response=InventoryV2, problems=(404, 503, 504), cached=True),
    Operation("queryInventoryV2", "POST", "/v2/inventory/query",
              catalog.rendering(catalog.query_inventory, catalog.inventory_v2),
              "Available-to-promise of up to 100 SKUs", "inventory", version="v2",
              scope="inventory:read", body=InventoryQuery, response=InventoryListV2,
              problems=(400, 413, 415, 503, 504), cached=True),
    Operation("getPriceV2", "GET", "/v2/prices/{sku}",
              catalog.rendering(catalog.get_price, catalog.price_v2),
              "Customer price of one SKU at a quantity, money as decimal strings", "prices",
              version="v2", scope="prices:read", path_params=SkuPath, query=PriceQuery,
              response=PriceV2, problems=(404, 503, 504), cached=True),
    Operation("queryPricesV2", "POST", "/v2/prices/query",
              catalog.rendering(catalog.query_prices, catalog.price_v2),
              "Customer prices of up to 100 SKUs, money as decimal strings", "prices",
              version="v2", scope="prices:read", body=PricesQuery, response=PriceListV2,
              problems=(400, 404, 413, 415, 503, 504), cached=True),
]


def _shipping(version: str) -> list[Operation]:
    v = version.upper()
    return [
        Operation(f"rateShop{v}", "POST", f"/{version}/shipping/rates", shipping.rate_shop,
                  "Rate-shop across the warehouse's carriers", "shipping", version=version,
                  scope="shipping:rate", body=RateRequest, response=RateShopResult,
                  problems=(400, 413, 415),
                  description="Carriers are asked concurrently under one deadline. A carrier "
                  "whose breaker is open, that timed out or failed with 5xx is replaced by "
                  "fallback table rates (source=fallback, with the reason) next to the other "
                  "carriers' live rates; its messages say why."),
        Operation(f"buyLabel{v}", "POST", f"/{version}/shipping/labels", shipping.buy_label,
                  "Buy a label, exactly once per Idempotency-Key", "shipping", version=version,
                  scope="labels:write", body=LabelRequest, response=Label, status=201,
                  problems=(400, 409, 413, 415, 503),
                  required_headers={"Idempotency-Key": "Unique per label; resend the same key "
                                    "on every retry. Reuse with another body is refused (422)."},
                  description="Never falls back to table rates: an unavailable carrier answers "
                  "503 with Retry-After, and the retry with the same key buys at most once."),
        Operation(f"getLabel{v}", "GET", f"/{version}/shipping/labels/{{label_id}}",
                  shipping.get_label, "Reprint a bought label", "shipping", version=version,
                  scope="labels:write", path_params=shipping.LabelPath, response=Label,
                  problems=(404,)),
        Operation(f"voidLabel{v}", "DELETE", f"/{version}/shipping/labels/{{label_id}}",
                  shipping.void_label, "Void a bought label", "shipping", version=version,
                  scope="labels:write", path_params=shipping.LabelPath, response=VoidResult,
                  problems=(404, 409, 503),
                  description="409 when the carrier refuses (already manifested, too late); "
                  "the problem carries the carrier's own words."),
        Operation(f"track{v}", "GET", f"/{version}/shipping/tracking/{{carrier}}/"
                  "{tracking_number}", shipping.track, "Tracking history, normalized status",
                  "shipping", version=version, scope="tracking:read",
                  path_params=shipping.TrackingPath, response=Tracking, problems=(404, 503)),
    ]


def operations() -> list[Operation]:
    # Starlette matches routes in order: the storefront reads, the hot path, come first
    return [*V1, *V2, *_shipping("v1"), *_shipping("v2"), *HEALTH, *ADMIN, *contracts.CONTRACTS]
