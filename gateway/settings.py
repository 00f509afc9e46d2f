"""Settings: the one home of configuration.

A TOML file validated by pydantic models. Each policy's own model lives next to
the policy (``caching.config``, ``policies.auth.config`` …); this module only
composes them. String values may reference the environment as ``${NAME}``; they
are resolved here, before validation, and nowhere else reads the environment.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from caching import CacheConfig
from carriers.config import ShippingConfig
from gateway.erp.demo import DemoConfig
from gateway.erp.demo.http import HttpDemoConfig
from gateway.erp.none import NoErpConfig
from gateway.erp.tryton import TrytonConfig
from gateway.observability.config import LogSettings, TracingSettings
from gateway.orders.config import OrdersConfig
from gateway.redis_settings import RedisSettings
from policies.auth import AuthConfig
from policies.auth.config import DEFAULT_PUBLIC_PATHS
from policies.compression import CompressionConfig
from policies.cors import CorsConfig
from policies.limits import InputLimits
from policies.proxies import ProxyConfig
from policies.ratelimit import PlanConfig, RateLimitConfig
from policies.versioning import VersionConfig, VersioningConfig

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(Exception):
    """A config file that cannot be used; ``errors`` lists ``(field path, message)``."""

    def __init__(self, source: str, errors: list[tuple[str, str]]) -> None:
        self.source = source
        self.errors = errors
        lines = "\n".join(f"  {path}: {message}" for path, message in errors)
        super().__init__(f"{source}: {len(errors)} error(s)\n{lines}")


class ReferenceErrors(ValueError):
    """Fields that name something the rest of the config does not define: (path, message)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TlsSettings(_Section):
    """TLS terminated by the gateway itself (PEM files; read by the server at start)."""

    certfile: str = Field(min_length=1)
    keyfile: str = Field(min_length=1)
    keyfile_password: SecretStr | None = None


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    # serve https directly; usually the load balancer terminates TLS instead
    tls: TlsSettings | None = None
    # after SIGTERM: /readyz answers 503 this long, with traffic still served, before the
    # listener closes (longer than the balancer's readiness period)
    drain_seconds: float = Field(default=5.0, ge=0, le=300)
    # then requests in flight get this long to finish before they are cancelled
    graceful_timeout_seconds: float = Field(default=30.0, ge=1, le=600)


# per-section Redis knobs the packages keep for standalone use; the gateway derives them
_CACHE_REDIS = frozenset({"redis_socket_timeout"})
_LIMIT_REDIS = frozenset({"redis_socket_timeout", "redis_connect_timeout",
                          "redis_max_connections"})


class WebhookSource(_Section):
    """One system allowed to send change notices to ``POST /webhooks/erp/{source}``."""

    # HMAC keys; several during a rotation
    secrets: list[SecretStr] = Field(min_length=1)
    # also accept Frappe/ERPNext's X-Frappe-Webhook-Signature (it carries no timestamp)
    accept_frappe: bool = False
    max_age_seconds: int = Field(default=300, ge=10, le=3600)


def default_rate_limits() -> RateLimitConfig:
    """One generous ``default`` plan over the operation table's route groups."""
    return RateLimitConfig(
        plans={"default": PlanConfig(limits={
            "inventory": "12000/minute", "prices": "12000/minute", "orders": "600/minute",
            "labels": "600/minute", "shipping": "3000/minute", "admin": "600/minute",
            "default": "3000/minute"})},
        default_plan="default",
    )


def replica_share_warning(replicas: int, workers: int) -> str | None:
    """Why ``ratelimit.replicas`` cannot be hosts x workers for this worker count, if so.

    Without Redis each process enforces ``limit // replicas``; the fleet then admits up
    to ``limit`` only when ``replicas`` counts every process (hosts x workers).
    """
    if replicas < workers:
        return (f"ratelimit.replicas = {replicas} but this host alone runs {workers} workers: "
                f"without Redis it admits up to {workers}/{replicas} x each limit; "
                "set replicas = hosts x workers")
    if replicas % workers:
        return (f"ratelimit.replicas = {replicas} is not a multiple of {workers} workers: "
                "it cannot be hosts x workers, so the share each process enforces without "
                "Redis is off; set replicas = hosts x workers")
    return None


def default_versions() -> VersioningConfig:
    return VersioningConfig(versions=[VersionConfig(name="v1"), VersionConfig(name="v2")])


ErpSettings = Annotated[DemoConfig | HttpDemoConfig | TrytonConfig | NoErpConfig,
                        Field(discriminator="kind")]


class Settings(_Section):
    # the embedded demo: demo ERP in-process, in-memory state, loopback only, demo credentials
    demo: bool = False
    server: ServerSettings = ServerSettings()
    # required unless demo (which runs the demo ERP); kind = "none" for a gateway without one
    erp: ErpSettings | None = None
    redis: RedisSettings | None = None
    # clients, signing keys, external issuers; the demo brings its own demo clients
    auth: AuthConfig | None = None
    # carrier accounts, fallback tables, label idempotency; the demo brings sandbox accounts.
    # Required unless demo: ``accounts = []`` says there are none
    shipping: ShippingConfig | None = None
    cache: CacheConfig = CacheConfig()
    # order checks: price tolerance, stock holds, idempotency records (on the label store)
    orders: OrdersConfig = OrdersConfig()
    # plans and route groups; clients name their plan in [[auth.clients]]
    ratelimit: RateLimitConfig = Field(default_factory=default_rate_limits)
    # v1 and v2, both current unless configured deprecated with a sunset date
    versioning: VersioningConfig = Field(default_factory=default_versions)
    # change-notice senders by name; the demo has "demo" with secret "demo-webhook-secret"
    webhooks: dict[str, WebhookSource] = Field(default_factory=dict)
    # input bounds (header, path, query, body, JSON shape); see policies.limits
    limits: InputLimits = InputLimits()
    # load balancers whose X-Forwarded-For / Forwarded headers are believed
    proxies: ProxyConfig = ProxyConfig()
    # browser origins allowed per route group (and client)
    cors: CorsConfig = CorsConfig()
    # gzip for large answers
    compression: CompressionConfig = CompressionConfig()
    # JSON lines by default; serve --log-format overrides the format
    logging: LogSettings = LogSettings()
    # OpenTelemetry, with the otel extra installed
    tracing: TracingSettings = TracingSettings()

    @field_validator("ratelimit")
    @classmethod
    def _groups_from_the_table(cls, config: RateLimitConfig) -> RateLimitConfig:
        from gateway.operations import ROUTE_GROUPS  # the table imports the handlers

        if config.route_groups:
            raise ValueError("route groups come from the operation table ("
                             f"{', '.join(ROUTE_GROUPS)}); remove [[ratelimit.route_groups]]")
        for name, plan in config.plans.items():
            unknown = sorted(set(plan.limits) - set(ROUTE_GROUPS))
            if unknown:
                raise ValueError(f"plan {name!r} limits unknown route group(s) "
                                 f"{', '.join(unknown)}; known: {', '.join(ROUTE_GROUPS)}")
        return config

    @field_validator("cors")
    @classmethod
    def _cors_groups_from_the_table(cls, config: CorsConfig) -> CorsConfig:
        from gateway.operations import ROUTE_GROUPS

        for i, rule in enumerate(config.rules):
            unknown = sorted(set(rule.route_groups) - set(ROUTE_GROUPS))
            if unknown:
                raise ValueError(f"rules[{i}]: unknown route group(s) {', '.join(unknown)}; "
                                 f"known: {', '.join(ROUTE_GROUPS)}")
        return config

    @field_validator("auth")
    @classmethod
    def _public_from_the_table(cls, config: AuthConfig | None) -> AuthConfig | None:
        if config is not None and set(config.public_paths) != set(DEFAULT_PUBLIC_PATHS):
            raise ValueError("public_paths: which operations are public comes from the "
                             "operation table; remove the setting")
        return config

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.demo:
            # the demo is this one value: its ERP, clients and carriers are filled in here,
            # and nothing downstream falls back to a default of its own
            from gateway.demo import demo_auth, demo_shipping

            self.erp = self.erp or DemoConfig()
            self.auth = self.auth or demo_auth()
            self.shipping = self.shipping or demo_shipping()
        if self.auth is None and not self.demo:
            raise ValueError("an [auth] section is required unless demo = true")
        if (self.shipping and self.shipping.idempotency.backend == "redis"
                and self.redis is None):
            raise ValueError("shipping.idempotency.backend = 'redis' needs a [redis] section")
        if self.redis is not None:
            # the Redis client is shared: its timeouts have one home, [redis]
            given = sorted(f"cache.{n}" for n in _CACHE_REDIS & self.cache.model_fields_set)
            given += sorted(f"ratelimit.{n}" for n in _LIMIT_REDIS
                            & self.ratelimit.model_fields_set)
            if given:
                raise ValueError(f"{', '.join(given)}: Redis timeouts and pool size are set "
                                 "in [redis] (socket_timeout, connect_timeout, max_connections)")
        errors = self._demo_parts() + self._unknown_plans()
        if errors:
            raise ReferenceErrors(errors)
        return self

    def _demo_parts(self) -> list[tuple[str, str]]:
        """A real configuration names its ERP and carriers: it never falls back to demo data."""
        if self.demo:
            return []
        errors = []
        if self.erp is None:
            errors.append(("erp", 'an [erp] section is required unless demo = true: name the '
                                  'ERP (kind = "tryton", …), or kind = "none" for no ERP'))
        elif isinstance(self.erp, DemoConfig):
            errors.append(("erp.kind", 'kind = "demo" serves made-up data: only with '
                                       'demo = true'))
        if self.shipping is None:
            errors.append(("shipping", "a [shipping] section is required unless demo = true: "
                                       "list the carrier accounts, or accounts = [] for none"))
        return errors

    def _unknown_plans(self) -> list[tuple[str, str]]:
        """Every plan a client or issuer names is defined (never a silent default plan)."""
        if self.auth is None:
            return []
        plans = self.ratelimit.plans
        known = ", ".join(sorted(plans)) or "(none)"
        named = [(f"auth.clients[{i}].plan", c.plan) for i, c in enumerate(self.auth.clients)]
        named += [(f"auth.external_issuers[{i}].plan", issuer.plan)
                  for i, issuer in enumerate(self.auth.external_issuers)]
        return [(path, f"plan {plan!r} is not defined in [ratelimit.plans] (defined: {known})")
                for path, plan in named if plan not in plans]

    @classmethod
    def embedded_demo(cls) -> Settings:
        demo_source = WebhookSource(secrets=[SecretStr("demo-webhook-secret")])
        return cls(demo=True, webhooks={"demo": demo_source})


def resolve_env(value: Any, env: Mapping[str, str], path: str = "") -> Any:
    """Replace ``${NAME}`` in every string of a parsed TOML tree; missing names are errors."""
    if isinstance(value, dict):
        return {k: resolve_env(v, env, f"{path}.{k}" if path else k) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_env(v, env, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str):
        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                raise ConfigError("environment",
                                  [(path, f"environment variable {name} is not set")])
            return env[name]
        return _ENV_REF.sub(sub, value)
    return value


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def parse_settings(raw: Mapping[str, Any], source: str = "config",
                   env: Mapping[str, str] | None = None) -> Settings:
    resolved = resolve_env(dict(raw), os.environ if env is None else env)
    try:
        return Settings.model_validate(resolved)
    except ValidationError as exc:
        errors: list[tuple[str, str]] = []
        for e in exc.errors():
            cause = e.get("ctx", {}).get("error")
            if isinstance(cause, ReferenceErrors):
                errors.extend(cause.errors)  # each names its own field path
            else:
                errors.append((_loc(e["loc"]), e["msg"]))
        raise ConfigError(source, errors) from None


def load_settings(path: str | Path, env: Mapping[str, str] | None = None) -> Settings:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), [("(file)", "no such file")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [("(toml)", str(exc))]) from None
    return parse_settings(raw, str(path), env)


# the CLI hands the config path to uvicorn's worker processes through this variable
CONFIG_ENV = "ERP_GATEWAY_CONFIG"
# ... the multi-worker supervisor's pid (SIGHUP to it reloads every worker) ...
SUPERVISOR_ENV = "ERP_GATEWAY_SUPERVISOR_PID"
# ... and the metrics directory the workers share (prometheus-client's own variable)
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


@dataclass(frozen=True)
class WorkerEnvironment:
    """What ``erp-gateway serve`` tells its workers besides the config file."""

    config_path: str | None
    supervisor_pid: int | None
    metrics_dir: str | None


def worker_environment(env: Mapping[str, str] | None = None) -> WorkerEnvironment:
    env = os.environ if env is None else env
    pid = env.get(SUPERVISOR_ENV, "")
    return WorkerEnvironment(env.get(CONFIG_ENV) or None, int(pid) if pid.isdigit() else None,
                             env.get(METRICS_DIR_ENV) or None)
