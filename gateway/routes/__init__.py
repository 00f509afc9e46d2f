"""The route table: every operation the gateway serves, by version."""

from __future__ import annotations

from gateway.api.common import InventoryQuery, PriceQuery, PricesQuery, SkuPath
from gateway.api.v1 import InventoryListV1, InventoryV1, PriceListV1, PriceV1
from gateway.api.v2 import InventoryListV2, InventoryV2, PriceListV2, PriceV2
from gateway.contract import Operation
from gateway.routes import catalog, health

HEALTH = [
    Operation("healthz", "GET", "/healthz", health.healthz, "Process is up", "operations"),
    Operation("readyz", "GET", "/readyz", health.readyz,
              "Dependencies reachable (ready, degraded or draining)", "operations",
              problems=(503,)),
]

V1 = [
    Operation("getInventoryV1", "GET", "/v1/inventory/{sku}", catalog.get_inventory_v1,
              "Availability of one SKU per warehouse", "inventory", version="v1",
              scope="inventory:read", path_params=SkuPath, response=InventoryV1,
              problems=(404, 503, 504), cached=True),
    Operation("queryInventoryV1", "POST", "/v1/inventory/query", catalog.query_inventory_v1,
              "Availability of up to 100 SKUs", "inventory", version="v1",
              scope="inventory:read", body=InventoryQuery, response=InventoryListV1,
              problems=(400, 413, 415, 503, 504), cached=True),
    Operation("getPriceV1", "GET", "/v1/prices/{sku}", catalog.get_price_v1,
              "Customer price of one SKU at a quantity", "prices", version="v1",
              scope="prices:read", path_params=SkuPath, query=PriceQuery, response=PriceV1,
              problems=(404, 503, 504), cached=True),
    Operation("queryPricesV1", "POST", "/v1/prices/query", catalog.query_prices_v1,
              "Customer prices of up to 100 SKUs", "prices", version="v1",
              scope="prices:read", body=PricesQuery, response=PriceListV1,
              problems=(400, 404, 413, 415, 503, 504), cached=True),
]

V2 = [
    Operation("getInventoryV2", "GET", "/v2/inventory/{sku}", catalog.get_inventory_v2,
              "Available-to-promise of one SKU per warehouse, with the next receipt",
              "inventory", version="v2", scope="inventory:read", path_params=SkuPath,
              response=InventoryV2, problems=(404, 503, 504), cached=True),
    Operation("queryInventoryV2", "POST", "/v2/inventory/query", catalog.query_inventory_v2,
              "Available-to-promise of up to 100 SKUs", "inventory", version="v2",
              scope="inventory:read", body=InventoryQuery, response=InventoryListV2,
              problems=(400, 413, 415, 503, 504), cached=True),
    Operation("getPriceV2", "GET", "/v2/prices/{sku}", catalog.get_price_v2,
              "Customer price of one SKU at a quantity, money as decimal strings", "prices",
              version="v2", scope="prices:read", path_params=SkuPath, query=PriceQuery,
              response=PriceV2, problems=(404, 503, 504), cached=True),
    Operation("queryPricesV2", "POST", "/v2/prices/query", catalog.query_prices_v2,
              "Customer prices of up to 100 SKUs, money as decimal strings", "prices",
              version="v2", scope="prices:read", body=PricesQuery, response=PriceListV2,
              problems=(400, 404, 413, 415, 503, 504), cached=True),
]


def operations() -> list[Operation]:
    return [*HEALTH, *V1, *V2]
