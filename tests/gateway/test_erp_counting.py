"""ERP call counting wraps every connector alike (the metrics read it)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.erp.base import ErpConnector, ErpUnavailable, PriceItem
from gateway.erp.counting import CountingConnector
from gateway.erp.demo import DemoConnector
from tests.support.app import ADMIN, STOREFRONT, gateway
from tests.support.metrics import value


async def test_calls_and_failures_are_counted_by_operation_and_error() -> None:
    demo = DemoConnector()
    counted = CountingConnector(demo)
    assert isinstance(counted, ErpConnector)
    await counted.availability(["SKU-0001"])
    await counted.prices("CUST-001", [PriceItem("SKU-0001", Decimal(1))])
    demo.down = True
    with pytest.raises(ErpUnavailable):
        await counted.availability(["SKU-0002"])

    assert counted.snapshot() == {"availability": 2, "prices": 1,
                                  "availability_failed_ErpUnavailable": 1}


async def test_metrics_show_the_erp_calls_of_any_connector() -> None:
    async with gateway() as (_, client):
        await client.get("/v1/inventory/SKU-0001", headers=STOREFRONT)
        metrics = await client.get("/metrics", headers=ADMIN)

    assert metrics.status_code == 200
    assert value(metrics.text, "gateway_erp_calls_total", connector="demo",
                 call="availability", outcome="ok") == 1
