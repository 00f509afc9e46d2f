"""Structured logs through the standard ``logging`` module.

Every record leaves as one JSON object per line (or, with ``format = "text"``, one
readable line) with ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``; the
fields a caller passes with ``extra={...}`` follow, and records made while a request is
being served carry its ``request_id``. Event lines (breaker transitions, Redis lost and
back, ERP errors, reloads, webhook evictions) name themselves with an ``event`` field.

``log_config`` is the ``logging.config.dictConfig`` document ``erp-gateway serve`` hands
uvicorn, so every worker configures the same handlers, uvicorn's own messages included;
uvicorn's access logger is silenced because ``AccessLog`` writes a better line.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from gateway.observability.config import LogSettings
from policies.request_id import request_id_var

__all__ = ["ACCESS_LOGGER", "ContextFilter", "JsonFormatter", "TextFormatter", "log_config"]

ACCESS_LOGGER = "gateway.access"

# attributes every LogRecord has; anything else on a record came from ``extra``
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "color_message", "taskName"}


def _timestamp(created: float) -> str:
    seconds = int(created)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + \
        f".{int((created - seconds) * 1000):03d}Z"


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


class ContextFilter(logging.Filter):
    """Adds the request id of the request being served (when there is one) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "request_id" not in record.__dict__:
            rid = request_id_var.get()
            if rid:
                record.request_id = rid
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record; values that JSON cannot hold are written as strings."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        doc.update(_fields(record))
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value …`` for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        line = (f"{_timestamp(record.created)} {record.levelname:<7} {record.name}: "
                f"{record.getMessage()}{' ' + extra if extra else ''}")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def log_config(settings: LogSettings) -> dict[str, Any]:
    """The dictConfig document for the gateway and uvicorn in every worker."""
    level = settings.level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": f"{__name__}.JsonFormatter"},
            "text": {"()": f"{__name__}.TextFormatter"},
        },
        "filters": {"context": {"()": f"{__name__}.ContextFilter"}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                       "formatter": settings.format, "filters": ["context"]},
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            # replaced by the gateway's own access line
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
            ACCESS_LOGGER: {"level": "INFO" if settings.access_log else "CRITICAL"},
        },
        "root": {"handlers": ["stderr"], "level": level},
    }
