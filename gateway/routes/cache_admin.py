"""Cache eviction: signed ERP change notices and the operators' purge."""

from __future__ import annotations

import time

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from caching import InvalidationResult, TieredCache
from gateway.observability.ops import Operations
from gateway.schemas.admin import ChangeNotice, FrappeDocument, PurgeRequest, PurgeResult
from gateway.settings import WebhookSource
from policies.limits import InputLimits
from policies.problems import NotFound, Unauthorized
from policies.validation import body_errors, decode_json, validation_failed
from policies.webhook_signature import SignatureError, verify


class SourcePath(BaseModel):
    source: str


async def _evict(cache: TieredCache, notice: ChangeNotice) -> Response:
    result: InvalidationResult = (await cache.purge_all() if notice.all
                                  else await cache.invalidate(notice.tags()))
    body = PurgeResult(evicted_locally=result.l1_evicted, shared_tier=result.l2_ok,
                       replicas_notified=result.published)
    return Response(body.model_dump_json(), media_type="application/json")


async def purge(body: PurgeRequest, cache: TieredCache) -> Response:
    return await _evict(cache, body)


async def erp_webhook(path: SourcePath, raw: bytes, request: Request, cache: TieredCache,
                      webhooks: dict[str, WebhookSource], limits: InputLimits,
                      ops: Operations) -> Response:
    source = webhooks.get(path.source)
    if source is None:
        raise NotFound(f"no webhook source {path.source!r} is configured")
    try:
        scheme = verify(raw, request.headers,
                        [s.get_secret_value().encode() for s in source.secrets], time.time(),
                        source.max_age_seconds, accept_frappe=source.accept_frappe)
    except SignatureError as exc:
        # the reason token names the failed check (bad-signature, timestamp-out-of-tolerance …)
        raise Unauthorized(f"webhook signature refused: {exc.reason}",
                           challenge='HMAC-SHA256 realm="erp-gateway-webhooks"') from None
    doc = decode_json(raw, limits)
    try:
        notice = (FrappeDocument.model_validate(doc).notice() if scheme == "frappe"
                  else ChangeNotice.model_validate(doc))
    except ValidationError as exc:
        raise validation_failed(body_errors(exc, limits), exc.error_count()) from None
    answer = await _evict(cache, notice)
    ops.webhook_eviction(path.source, notice)
    return answer
