"""The demo ERP: a made-up catalog served in-process (``connector``), as its own HTTP process
(``server``, ``erp-gateway demo-erp``) and read over HTTP (``http``, ``kind = "http-demo"``).

``catalog`` holds the data (items, warehouses, customers, price lists, units and currencies)
and ``orders`` the orders it takes, which commit and release stock.
"""

from __future__ import annotations

from gateway.erp.demo.connector import DemoConfig, DemoConnector

__all__ = ["DemoConfig", "DemoConnector"]
