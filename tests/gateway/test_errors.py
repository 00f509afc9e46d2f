import logging

import pytest

from gateway.erp.base import ErpBadResponse, ErpTimeout, ErpUnavailable
from gateway.erp.demo import DemoConnector
from tests.support.app import STOREFRONT, gateway


class FailingErp(DemoConnector):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    async def availability(self, skus):
        self.calls["availability"] += 1
        raise self.error


@pytest.mark.parametrize(("error", "status", "retry_after"), [
    (ErpUnavailable("connection refused"), 503, "5"),
    (ErpTimeout("read timeout"), 504, "2"),
    (ErpBadResponse("not JSON"), 502, None),
])
async def test_erp_failures_map_to_gateway_problems(error, status, retry_after):
    erp = FailingErp(error)
    async with gateway(erp=erp) as (_, client):
        response = await client.get("/v1/inventory/SKU-0001", headers=STOREFRONT)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers.get("retry-after") == retry_after
    assert erp.calls["availability"] == 1


async def test_an_internal_error_is_a_problem_without_a_stack_trace(caplog):
    erp = FailingErp(ZeroDivisionError("boom"))
    async with gateway(erp=erp) as (app, client):
        # the server error middleware re-raises after answering; the ASGI transport must not
        client._transport.raise_app_exceptions = False  # type: ignore[attr-defined]
        with caplog.at_level(logging.ERROR, logger="gateway.errors"):
            response = await client.get("/v1/inventory/SKU-0001",
                                        headers={**STOREFRONT, "X-Request-ID": "trace-me-1"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "ZeroDivisionError" not in response.text and "boom" not in response.text
    assert response.json()["detail"].endswith("quote the X-Request-ID when reporting it")
    assert response.headers["x-request-id"] == "trace-me-1"
    assert any("trace-me-1" in r.getMessage() for r in caplog.records)
