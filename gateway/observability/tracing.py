"""OpenTelemetry traces, when the ``otel`` extra is installed and ``[tracing] enabled``.

A server span per request (``TracingMiddleware``, outermost, so it times the whole
gateway), continuing the caller's trace when the request carries a W3C ``traceparent``;
child spans for cache fills, ERP calls and carrier calls (``Tracing.span``); and the
current span's ``traceparent`` on every call to the ERP (``gateway.context``) and to the
carriers (``carriers.http``). Without the extra, or with tracing off, ``Tracing`` is a
no-op and nothing from OpenTelemetry is imported on the request path.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

import carriers.http
import gateway.context
from gateway.observability.config import TracingSettings

__all__ = ["Tracing", "TracingMiddleware", "build_tracing", "install_propagation",
           "otel_installed"]

log = logging.getLogger("gateway.tracing")

try:
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
except ImportError:  # the otel extra is not installed
    trace = None  # type: ignore[assignment]

_TRACE_HEADERS = (b"traceparent", b"tracestate")


def otel_installed() -> bool:
    return trace is not None


def _inject_erp(headers: dict[str, str]) -> None:
    TraceContextTextMapPropagator().inject(headers)


def _carrier_headers() -> dict[str, str]:
    headers: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(headers)
    return headers


def install_propagation() -> None:
    """Send the current span's ``traceparent`` on ERP and carrier calls (once per process)."""
    if _inject_erp not in gateway.context.OUTBOUND_HEADER_HOOKS:
        gateway.context.OUTBOUND_HEADER_HOOKS.append(_inject_erp)
    if _carrier_headers not in carriers.http.OUTBOUND_HEADER_HOOKS:
        carriers.http.OUTBOUND_HEADER_HOOKS.append(_carrier_headers)


class Tracing:
    """Spans and propagation; every method is a no-op when ``tracer`` is None."""

    def __init__(self, tracer: Any = None, provider: Any = None) -> None:
        self.tracer = tracer
        self.provider = provider
        # operation id -> path template ("/v1/inventory/{sku}"), for span names
        self.templates: dict[str, str] = {}
        self._propagator = TraceContextTextMapPropagator() if tracer is not None else None

    @property
    def enabled(self) -> bool:
        return self.tracer is not None

    def span(self, name: str, attributes: Mapping[str, Any] | None = None
             ) -> AbstractContextManager[Any]:
        """A child span of the current one (client kind: it stands for a call out)."""
        if self.tracer is None:
            return nullcontext()
        span: AbstractContextManager[Any] = self.tracer.start_as_current_span(
            name, kind=trace.SpanKind.CLIENT, attributes=dict(attributes or {}))
        return span

    def inject(self, headers: dict[str, str]) -> None:
        """Add the current span's ``traceparent`` (and ``tracestate``) to outgoing headers."""
        if self._propagator is not None:
            self._propagator.inject(headers)

    def extract(self, headers: Any) -> Any:
        carrier = {k.decode("latin-1"): v.decode("latin-1")
                   for k, v in headers if k in _TRACE_HEADERS}
        assert self._propagator is not None
        return self._propagator.extract(carrier)

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()


def build_tracing(settings: TracingSettings, *, provider: Any = None) -> Tracing:
    """The configured tracing; ``provider`` (an SDK ``TracerProvider``) replaces the export."""
    if provider is None and not settings.enabled:
        return Tracing()
    if trace is None:
        log.error("tracing is enabled but OpenTelemetry is not installed: "
                  "pip install 'erp-gateway[otel]'; serving without traces",
                  extra={"event": "tracing_unavailable"})
        return Tracing()
    if provider is None:
        provider = _sdk_provider(settings)
    install_propagation()
    return Tracing(provider.get_tracer("erp-gateway"), provider)


def _sdk_provider(settings: TracingSettings) -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.service_name}),
        sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio)))
    exporter: Any
    if settings.exporter == "console":
        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=settings.otlp_endpoint)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


class TracingMiddleware:
    """One server span per HTTP request, named ``METHOD /route/{template}`` once routed."""

    def __init__(self, app: ASGIApp, tracing: Tracing) -> None:
        self.app = app
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer = self.tracing.tracer
        if scope["type"] != "http" or tracer is None:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        parent = self.tracing.extract(scope["headers"])
        with tracer.start_as_current_span(
                method, context=parent, kind=trace.SpanKind.SERVER,
                attributes={"http.request.method": method, "url.path": scope["path"]}) as span:

            async def send_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = message["status"]
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(trace.StatusCode.ERROR)
                await send(message)

            try:
                await self.app(scope, receive, send_status)
            finally:
                route = scope.get("state", {}).get("route")  # the chain's RoutePolicy
                if route is not None:
                    span.set_attribute("gateway.operation", route.operation_id)
                    template = self.tracing.templates.get(route.operation_id)
                    if template is not None:
                        span.set_attribute("http.route", template)
                        span.update_name(f"{method} {template}")
