"""The Tryton connector: JSON-RPC at ``POST /<database>/rpc/``.

    config.py     the ``[erp] kind = "tryton"`` settings
    wire.py       JSON-RPC encoding, HTTP status mapping, payload checks (pure)
    session.py    the logged-in session, login back-off, the pooled client
    catalog.py    warehouses, company, currencies, default price list (cached)
    mapping.py    Tryton records to and from the connector's types (pure)
    orders.py     sales orders: create, quote, confirm, find, read, cancel
    connector.py  the ``ErpConnector`` over the above
"""

from gateway.erp.tryton.config import TrytonConfig
from gateway.erp.tryton.connector import TrytonConnector
from gateway.erp.tryton.wire import decode_object, decode_response, encode_request, encode_value

__all__ = [
    "TrytonConfig",
    "TrytonConnector",
    "decode_object",
    "decode_response",
    "encode_request",
    "encode_value",
]
