import httpx
import respx

from gateway.erp.demo.http import HttpDemoConfig, HttpDemoConnector
from gateway.settings import Settings
from tests.support.app import STOREFRONT, gateway


async def test_a_valid_request_id_is_echoed_and_an_invalid_one_replaced():
    async with gateway() as (_, client):
        kept = await client.get("/healthz", headers={"X-Request-ID": "abc-123.x:y"})
        replaced = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
        made = await client.get("/healthz")
    assert kept.headers["x-request-id"] == "abc-123.x:y"
    assert replaced.headers["x-request-id"] != "bad id with spaces"
    assert len(made.headers["x-request-id"]) == 32


@respx.mock(assert_all_called=True)
async def test_the_request_id_is_forwarded_to_the_erp(respx_mock):
    route = respx_mock.post("http://erp.test/api/availability").mock(
        return_value=httpx.Response(200, json={"items": [{"sku": "SKU-0001", "warehouses": [
            {"warehouse": "A", "on_hand": "3", "available": "2"}]}]}))
    erp = HttpDemoConnector(HttpDemoConfig(url="http://erp.test"))
    async with gateway(Settings.embedded_demo(), erp=erp) as (_, client):
        response = await client.get("/v1/inventory/SKU-0001",
                                    headers={**STOREFRONT, "X-Request-ID": "corr-42"})
    assert response.status_code == 200
    assert response.json()["total_available"] == 2
    assert route.calls.last.request.headers["x-request-id"] == "corr-42"
