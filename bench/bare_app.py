"""The baseline for bench/policy_cost.py: a bare Starlette app answering the same bytes."""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = os.environb.get(b"BARE_BODY", b"{}")


async def inventory(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/v1/inventory/{sku}", inventory)])
