"""The layers between the server and the policy chain: trusted proxies, CORS, compression.

Outermost first: the client's real address and scheme are settled before anything reads
them, preflights are answered before auth (browsers send them without credentials), and
compression sees every answer, the chain's refusals included.
"""

from __future__ import annotations

from starlette.middleware import Middleware

from gateway.operations import operations
from gateway.settings import Settings
from policies.compression import CompressionMiddleware
from policies.cors import CorsMiddleware
from policies.proxies import ProxyHeadersMiddleware


def edge_middleware(settings: Settings) -> list[Middleware]:
    """The configured edge layers; an unconfigured one costs nothing (it is not installed)."""
    layers = []
    if settings.proxies.trusted:
        layers.append(Middleware(ProxyHeadersMiddleware, config=settings.proxies))
    if settings.cors.rules:
        group_paths: dict[str, list[str]] = {}
        for op in operations():
            group_paths.setdefault(op.group, []).append(op.path)
        layers.append(Middleware(CorsMiddleware, config=settings.cors, group_paths=group_paths))
    if settings.compression.enabled:
        layers.append(Middleware(CompressionMiddleware, config=settings.compression))
    return layers
