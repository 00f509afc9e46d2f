"""Entry point for ASGI servers: ``uvicorn --factory gateway.asgi:app`` (or granian)."""

from __future__ import annotations

from starlette.applications import Starlette

from gateway.app import create_app
from gateway.settings import settings_for_worker


def app() -> Starlette:
    return create_app(settings_for_worker())
