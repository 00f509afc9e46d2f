"""Cache eviction: signed ERP change notices and the operators' purge."""

from __future__ import annotations

import json
import time

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from caching import InvalidationResult
from gateway.api.admin import ChangeNotice, FrappeDocument, PurgeResult
from gateway.services import services
from policies.problems import BadRequest, NotFound, Unauthorized, ValidationFailed
from policies.validation import body_errors, parse_json_body, parse_params, read_body
from policies.webhook_signature import SignatureError, verify


class SourcePath(BaseModel):
    source: str


async def _evict(request: Request, notice: ChangeNotice) -> Response:
    cache = services(request).cache
    result: InvalidationResult = (await cache.purge_all() if notice.all
                                  else await cache.invalidate(notice.tags()))
    body = PurgeResult(evicted_locally=result.l1_evicted, shared_tier=result.l2_ok,
                       replicas_notified=result.published)
    return Response(body.model_dump_json(), media_type="application/json")


async def purge(request: Request) -> Response:
    notice = await parse_json_body(request, ChangeNotice,
                                   services(request).settings.server.max_body_bytes)
    if not notice.all and not notice.tags():
        raise ValidationFailed("name skus, customers or price_lists to purge, or all: true",
                               [{"pointer": "#", "detail": "nothing to purge"}])
    return await _evict(request, notice)


async def erp_webhook(request: Request) -> Response:
    path = parse_params(request.path_params, SourcePath, "path")
    svc = services(request)
    source = svc.settings.webhooks.get(path.source)
    if source is None:
        raise NotFound(f"no webhook source {path.source!r} is configured")
    raw = await read_body(request, svc.settings.server.max_body_bytes)
    try:
        scheme = verify(raw, request.headers,
                        [s.get_secret_value().encode() for s in source.secrets], time.time(),
                        source.max_age_seconds, accept_frappe=source.accept_frappe)
    except SignatureError as exc:
        # the reason token names the failed check (bad-signature, timestamp-out-of-tolerance …)
        raise Unauthorized(f"webhook signature refused: {exc.reason}",
                           challenge='HMAC-SHA256 realm="erp-gateway-webhooks"') from None
    try:
        doc = json.loads(raw)
    except ValueError:
        raise BadRequest("webhook body is not valid JSON") from None
    try:
        notice = (FrappeDocument.model_validate(doc).notice() if scheme == "frappe"
                  else ChangeNotice.model_validate(doc))
    except ValidationError as exc:
        errors = body_errors(exc)
        raise ValidationFailed(f"{errors[0]['pointer']}: {errors[0]['detail']}", errors) from None
    return await _evict(request, notice)
