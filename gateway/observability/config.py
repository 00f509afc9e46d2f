"""Settings of the operations side: ``[logging]`` and ``[tracing]``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LogSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # json: one object per line (what log shippers read); text: for a terminal
    format: Literal["json", "text"] = "json"
    level: Literal["debug", "info", "warning", "error"] = "info"
    # one line per request on the "gateway.access" logger
    access_log: bool = True
    # query strings carry customer ids: values are replaced by "*" unless shown
    query_values: Literal["redacted", "shown"] = "redacted"


class TracingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # needs the otel extra: pip install 'erp-gateway[otel]'
    enabled: bool = False
    service_name: str = "erp-gateway"
    # otlp: OTLP over HTTP to otlp_endpoint; console: spans on stderr (trying it out)
    exporter: Literal["otlp", "console"] = "otlp"
    otlp_endpoint: str = "http://127.0.0.1:4318/v1/traces"
    # fraction of new traces sampled; a sampled parent (traceparent) is always followed
    sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
