"""Tryton JSON-RPC plumbing: the wire format (pure functions), the mapping of HTTP
statuses to ERP errors and the payload checks."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from collections.abc import Awaitable, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import httpx

from gateway.erp.base import ErpBadResponse, ErpError, ErpTimeout, ErpUnavailable

if TYPE_CHECKING:
    from gateway.erp.tryton.config import TrytonConfig

T = TypeVar("T")


# --- JSON-RPC wire format: pure functions -------------------------------------------------


def encode_value(obj: object) -> object:
    """``json.dumps`` hook: Tryton's class-tagged objects for Decimal, datetime and date."""
    if isinstance(obj, Decimal):
        return {"__class__": "Decimal", "decimal": str(obj)}
    if isinstance(obj, dt.datetime):
        return {
            "__class__": "datetime", "year": obj.year, "month": obj.month, "day": obj.day,
            "hour": obj.hour, "minute": obj.minute, "second": obj.second,
            "microsecond": obj.microsecond,
        }
    if isinstance(obj, dt.date):
        return {"__class__": "date", "year": obj.year, "month": obj.month, "day": obj.day}
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    raise TypeError(f"cannot send {type(obj).__name__} to Tryton")


def decode_object(obj: dict[str, Any]) -> Any:
    """``json.loads`` object hook: turn Tryton's class-tagged objects back into values."""
    match obj.get("__class__"):
        case "Decimal":
            return Decimal(obj["decimal"])
        case "date":
            return dt.date(obj["year"], obj["month"], obj["day"])
        case "datetime":
            return dt.datetime(
                obj["year"], obj["month"], obj["day"],
                obj["hour"], obj["minute"], obj["second"], obj["microsecond"],
            )
        case "time":
            return dt.time(obj["hour"], obj["minute"], obj["second"], obj["microsecond"])
        case "timedelta":
            return dt.timedelta(seconds=obj["seconds"])
        case "bytes":
            return base64.b64decode(obj["base64"])
    return obj


def encode_request(request_id: int, method: str, params: Sequence[Any]) -> bytes:
    payload = {"id": request_id, "method": method, "params": list(params)}
    return json.dumps(payload, default=encode_value, separators=(",", ":")).encode()


def decode_response(body: bytes, method: str) -> Any:
    """The ``result`` of a JSON-RPC answer; ``ErpBadResponse`` for faults and garbage."""
    try:
        payload = json.loads(body, object_hook=decode_object)
    except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
        raise ErpBadResponse(f"Tryton answered {method} with invalid JSON-RPC: {exc}") from None
    if not isinstance(payload, dict):
        raise ErpBadResponse(f"Tryton answered {method} with a non-object payload")
    if payload.get("error") is not None:
        raise ErpBadResponse(f"Tryton {method} failed: {_fault_message(payload['error'])}")
    if "result" not in payload:
        raise ErpBadResponse(f"Tryton answered {method} without a result")
    return payload["result"]


def _fault_message(error: object) -> str:
    # trytond sends [exception class, exception args]: a UserError's args are
    # (message, description, …); other exceptions carry (str, traceback)
    if isinstance(error, list) and len(error) >= 2 and isinstance(error[1], list) and error[1]:
        return f"{error[0]}: {error[1][0]}"[:300]
    first = error[0] if isinstance(error, list) and error else error
    return str(first)[:200]


def status_error(response: httpx.Response, method: str, config: TrytonConfig) -> ErpError:
    status = response.status_code
    error: ErpError
    if status in (408, 504):
        return ErpTimeout(f"Tryton timed out on {method} (HTTP {status})")
    if status == 401:
        return ErpUnavailable(
            f"Tryton refused the credentials of {config.username!r} on {config.database!r}"
        )
    if status == 404:
        return ErpUnavailable(f"Tryton has no database {config.database!r} (HTTP 404)")
    if status in (429, 502, 503):
        error = ErpUnavailable(f"Tryton is not serving {method} (HTTP {status})")
        retry_after = response.headers.get("Retry-After", "")
        if retry_after.isdigit():
            error.retry_after = int(retry_after)
        return error
    return ErpBadResponse(f"Tryton answered {method} with HTTP {status}")


async def gather(calls: Sequence[Awaitable[Any]]) -> list[Any]:
    """Run calls concurrently; on the first failure cancel the rest and raise that failure."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(awaited(call)) for call in calls]
    except BaseExceptionGroup as failures:
        raise first_leaf(failures) from None
    return [task.result() for task in tasks]


async def awaited(call: Awaitable[T]) -> T:
    return await call


def first_leaf(group: BaseExceptionGroup[Any]) -> BaseException:
    first = group.exceptions[0]
    return first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def rows(result: Any, *keys: str) -> list[dict[str, Any]]:
    """Check a search_read / read result is a list of records carrying ``keys``."""
    if not isinstance(result, list) or not all(
        isinstance(row, dict) and all(key in row for key in keys) for row in result
    ):
        bad(f"expected records with {', '.join(keys)}")
    return result


def product_codes(result: Any) -> dict[int, str]:
    """Product id -> code; when several products share a code, the oldest stands for it."""
    by_code: dict[str, int] = {}
    for row in sorted(rows(result, "id", "code"), key=lambda row: row["id"]):
        by_code.setdefault(row["code"], row["id"])
    return {product_id: code for code, product_id in by_code.items()}


def qty(value: Any) -> Decimal:
    """Tryton quantities are floats; ``repr`` gives the shortest exact decimal spelling."""
    if value is None:
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        bad(f"quantity {value!r} is not a number")
    return value if isinstance(value, Decimal) else Decimal(repr(value))


def bad(what: str) -> NoReturn:
    raise ErpBadResponse(f"unexpected Tryton payload: {what}")
