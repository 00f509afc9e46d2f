"""Entry point for ASGI servers: ``uvicorn --factory gateway.asgi:app`` (or granian).

Under ``erp-gateway serve`` the worker learns from its environment (see
``gateway.settings.worker_environment``) the config file, the metrics directory it
shares with the other workers, and the supervisor to ask for a reload of every worker.
"""

from __future__ import annotations

from starlette.applications import Starlette

from gateway.app import create_app
from gateway.metrics import enable_multiprocess
from gateway.observability.control import process_control
from gateway.settings import Settings, load_settings, worker_environment


def app() -> Starlette:
    env = worker_environment()
    if env.metrics_dir:
        enable_multiprocess(env.metrics_dir)
    settings = load_settings(env.config_path) if env.config_path else Settings.embedded_demo()
    return create_app(settings, control=process_control(env.supervisor_pid),
                      config_path=env.config_path)
