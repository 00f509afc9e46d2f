"""``erp-gateway``: serve, check-config, demo-erp, openapi."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from collections.abc import Sequence

from gateway.contracts.cli import add_parser as add_openapi_parser
from gateway.settings import (
    CONFIG_ENV,
    METRICS_DIR_ENV,
    SUPERVISOR_ENV,
    ConfigError,
    Settings,
    load_settings,
    replica_share_warning,
)
from gateway.version import version
from policies.limits import InputLimits

DEMO_BANNER = """\
================================================================================
  erp-gateway DEMO MODE: embedded demo ERP, in-memory cache, sandbox carriers,
  label records in {labels}.
  Demo API keys (README): demo-storefront-key, demo-warehouse-key, demo-admin-key.
  Not for production: pass --config FILE to run against a real ERP.
================================================================================"""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server_buffer_bytes(limits: InputLimits) -> int:
    """h11's buffer for one request head, above the gateway's own limits: a head within
    them reaches the gateway (and gets a 431 or 414 problem there, not h11's bare 400)."""
    per_field = 4  # ": " and CRLF
    return (limits.max_header_bytes + limits.max_header_count * per_field
            + limits.max_path_bytes + limits.max_query_bytes + 1024)


def _serve(args: argparse.Namespace) -> int:
    import os
    import shutil
    import tempfile

    import uvicorn

    from gateway.observability import server
    from gateway.observability.logs import log_config

    if args.config:
        try:
            settings = load_settings(args.config)
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            return 2
        os.environ[CONFIG_ENV] = os.path.abspath(args.config)
    else:
        settings = Settings.embedded_demo()
        os.environ.pop(CONFIG_ENV, None)
    host = args.host or settings.server.host
    port = args.port or settings.server.port
    workers = args.workers or settings.server.workers
    if settings.demo:
        if not _is_loopback(host):
            print(f"refusing to serve the demo on {host}: the demo binds loopback only",
                  file=sys.stderr)
            return 2
        if workers > 1:
            print("the demo keeps its state in memory: serving with one worker", file=sys.stderr)
            workers = 1
        assert settings.shipping is not None  # the demo fills in its sandbox accounts
        labels = settings.shipping.idempotency.sqlite_path
        print(DEMO_BANNER.format(labels=labels), file=sys.stderr, flush=True)
    tls = settings.server.tls
    certfile = args.ssl_certfile or (tls.certfile if tls else None)
    keyfile = args.ssl_keyfile or (tls.keyfile if tls else None)
    if (certfile is None) != (keyfile is None):
        print("TLS needs both a certificate and a key file", file=sys.stderr)
        return 2
    for label, path in (("certificate", certfile), ("key", keyfile)):
        if path is not None and not os.access(path, os.R_OK):
            print(f"TLS {label} file {path} cannot be read", file=sys.stderr)
            return 2
    password = tls.keyfile_password.get_secret_value() if tls and tls.keyfile_password else None
    if share := replica_share_warning(settings.ratelimit.replicas, workers):
        print(f"warning: {share}", file=sys.stderr, flush=True)
    logging = settings.logging.model_copy(update={
        k: v for k, v in (("format", args.log_format), ("level", args.log_level),
                          ("access_log", args.access_log)) if v is not None})
    # every worker writes its metrics here; a fresh directory, so no counter starts stale
    metrics_dir = tempfile.mkdtemp(prefix="erp-gateway-metrics-")
    os.environ[METRICS_DIR_ENV] = metrics_dir
    if workers > 1:
        os.environ[SUPERVISOR_ENV] = str(os.getpid())
    else:
        os.environ.pop(SUPERVISOR_ENV, None)
    # forwarding headers are ours to judge ([proxies]), not the server's
    config = uvicorn.Config(
        "gateway.asgi:app", factory=True, host=host, port=port, workers=workers,
        proxy_headers=False, server_header=False, log_config=log_config(logging),
        log_level=logging.level, access_log=False, http=args.http,
        h11_max_incomplete_event_size=server_buffer_bytes(settings.limits),
        ssl_certfile=certfile, ssl_keyfile=keyfile, ssl_keyfile_password=password)
    try:
        server.run(config, drain_seconds=settings.server.drain_seconds,
                   graceful_timeout_seconds=settings.server.graceful_timeout_seconds)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _check_config(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.file)
    except ConfigError as exc:
        print(f"{exc.source}: invalid", file=sys.stderr)
        for path, message in exc.errors:
            print(f"  {path}: {message}", file=sys.stderr)
        return 1
    if args.connect:
        import asyncio

        from gateway.erp.base import ErpError, connect_check
        from gateway.services import erp_connector

        async def connect() -> str:
            connector = erp_connector(settings)
            try:
                return await connect_check(connector)
            finally:
                await connector.aclose()

        try:
            reached = asyncio.run(connect())
        except ErpError as exc:
            print(f"{args.file}: valid, but the ERP cannot be used: {exc}", file=sys.stderr)
            return 1
        print(f"{args.file}: ok; {reached}")
        return 0
    print(f"{args.file}: ok")
    return 0


def _demo_erp(args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.erp.demo.server import create_demo_erp_app

    if not 0 <= args.error_rate <= 1:
        print("--error-rate must be between 0 and 1", file=sys.stderr)
        return 2
    app = create_demo_erp_app(latency_ms=args.latency_ms, error_rate=args.error_rate)
    print(f"demo ERP on http://{args.host}:{args.port} (latency {args.latency_ms:g} ms, "
          f"error rate {args.error_rate:g})", file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                server_header=False)
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="erp-gateway", description=__doc__)
    root.add_argument("--version", action="version", version=f"erp-gateway {version()}")
    sub = root.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway (embedded demo without --config)")
    serve.add_argument("--config", help="TOML config file")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument("--log-level", choices=("debug", "info", "warning", "error"),
                       help="default: [logging] level (info)")
    serve.add_argument("--log-format", choices=("json", "text"),
                       help="default: [logging] format (json)")
    serve.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=None,
                       help="one line per request (default: [logging] access_log, on)")
    serve.add_argument("--http", choices=("auto", "h11", "httptools"), default="auto",
                       help="HTTP/1.1 parser (auto: httptools when installed, else h11)")
    serve.add_argument("--ssl-certfile", help="serve https with this PEM certificate "
                       "(overrides [server.tls] certfile)")
    serve.add_argument("--ssl-keyfile", help="its PEM private key ([server.tls] keyfile)")
    serve.set_defaults(run=_serve)

    check = sub.add_parser("check-config", help="validate a config file")
    check.add_argument("file")
    check.add_argument("--connect", action="store_true",
                       help="also log in to the ERP (exit 1 with the reason when it fails)")
    check.set_defaults(run=_check_config)

    demo = sub.add_parser("demo-erp", help="the demo ERP as its own HTTP process")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8100)
    demo.add_argument("--latency-ms", type=float, default=0.0)
    demo.add_argument("--error-rate", type=float, default=0.0)
    demo.add_argument("--log-level", default="warning")
    demo.set_defaults(run=_demo_erp)

    add_openapi_parser(sub)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
