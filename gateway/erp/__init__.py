"""ERP connectors behind one protocol (``gateway.erp.base.ErpConnector``)."""

from __future__ import annotations

from gateway.erp.base import ErpConnector
from gateway.erp.demo import DemoConfig, DemoConnector
from gateway.erp.demo.http import HttpDemoConfig, HttpDemoConnector
from gateway.erp.none import NoErpConfig, NoErpConnector
from gateway.erp.tryton import TrytonConfig, TrytonConnector


def build_connector(config: DemoConfig | HttpDemoConfig | TrytonConfig | NoErpConfig
                    ) -> ErpConnector:
    match config:
        case NoErpConfig():
            return NoErpConnector()
        case DemoConfig():
            return DemoConnector(config)
        case HttpDemoConfig():
            return HttpDemoConnector(config)
        case TrytonConfig():
            return TrytonConnector(config)
    raise ValueError(f"no connector for ERP kind {config.kind!r}")
