"""The baseline for bench/policy_cost.py: a bare Starlette app answering the same bytes.

``BARE_BODY`` is the body; ``BARE_HEADERS`` (JSON ``[[name, value], ...]``, optional) the
extra response headers, copied once from a gateway answer so that both servers write the
same response and the comparison measures producing it, not sending more of it.
"""

from __future__ import annotations

import json
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = os.environb.get(b"BARE_BODY", b"{}")
HEADERS = dict(json.loads(os.environ.get("BARE_HEADERS", "[]")))


async def inventory(request: Request) -> Response:
    return Response(BODY, media_type="application/json", headers=HEADERS)


app = Starlette(routes=[Route("/v1/inventory/{sku}", inventory)])
