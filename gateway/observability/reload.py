"""Reloading the configuration file without a restart (SIGHUP, ``POST /admin/reload``).

The new file is validated in full first (the same validation as ``check-config``), then
every live section that changed is *prepared* (built, which can still fail: an unusable
signing key), and only when all of them are ready are they *committed*, one after the
other, between two requests. A file that fails either step is refused with its errors and
the running configuration keeps serving.

Sections that reload live: ``auth`` (clients, API keys, secrets, signing keys, external
issuers), ``ratelimit`` plans and default plan, ``versioning``, ``cache``
freshness policies, ``shipping.fallback`` tables, ``webhooks`` sources and the log
``level``. After the commits, ``on_applied`` hears the new running configuration (the
app binds its handlers again, so handlers that take ``settings``, ``auth`` or
``webhooks`` see the new ones).

Everything else (``server``, ``redis``, ``erp``, carrier accounts, label idempotency,
the rate limiter's mode and Redis settings, the cache's other settings, ``limits``,
``tracing``, the log format) is read at start only: a change there is reported as needing
a restart and not applied; the live sections of the same file still are.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from gateway.metrics import GatewayMetrics
from gateway.settings import ConfigError, Settings, load_settings

__all__ = ["Applier", "ReloadResult", "Reloader", "changed_sections"]

log = logging.getLogger("gateway.reload")

# prepare(new settings) -> commit(); prepare raises ValueError to refuse the file
Applier = Callable[[Settings], Callable[[], None]]

# (section, field) pairs a running gateway applies; any other difference needs a restart
LIVE: dict[str, frozenset[str] | None] = {
    "auth": None,  # the whole section
    "ratelimit": frozenset({"plans", "default_plan"}),
    "versioning": None,
    "cache": frozenset({"policies"}),
    "shipping": frozenset({"fallback"}),
    "webhooks": None,
    "logging": frozenset({"level"}),
}


@dataclass
class ReloadResult:
    outcome: Literal["applied", "unchanged", "refused"]
    source: str
    applied: list[str] = field(default_factory=list)
    # changed, but only read at start: still running with the old values
    restart_required: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "source": self.source, "applied": self.applied,
                "restart_required": self.restart_required, "errors": self.errors}


def _fields_differ(old: Any, new: Any) -> list[str]:
    if isinstance(old, BaseModel) and isinstance(new, BaseModel) and type(old) is type(new):
        return [name for name in type(old).model_fields
                if getattr(old, name) != getattr(new, name)]
    return [] if old == new else ["*"]


# what an absent section means to the running gateway (Settings fills in the demo's)
_ABSENT: dict[str, Callable[[], BaseModel]] = {}


def changed_sections(old: Settings, new: Settings) -> tuple[list[str], list[str]]:
    """``(live changes, restart-only changes)`` between two configurations, as dotted names."""
    live: list[str] = []
    restart: list[str] = []
    for section in Settings.model_fields:
        before, after = getattr(old, section), getattr(new, section)
        absent = _ABSENT.get(section)
        if absent is not None:
            before = absent() if before is None else before
            after = absent() if after is None else after
        if before == after:
            continue
        allowed = LIVE.get(section, frozenset())
        if allowed is None:
            live.append(section)
            continue
        for name in _fields_differ(before, after):
            dotted = section if name == "*" else f"{section}.{name}"
            (live if name in allowed else restart).append(dotted)
    return live, restart


class Reloader:
    """Holds the running configuration and the appliers of its live sections."""

    def __init__(self, settings: Settings, path: str | Path | None,
                 appliers: dict[str, Applier], metrics: GatewayMetrics | None = None,
                 on_applied: Callable[[Settings], None] = lambda settings: None) -> None:
        self.settings = settings
        # told the new running configuration (what request handlers read settings from)
        self.on_applied = on_applied
        self.path = Path(path) if path is not None else None
        # keyed by dotted name: "auth", "ratelimit.plans", "shipping.fallback" …
        self.appliers = appliers
        self.metrics = metrics

    async def reload(self, origin: str = "admin") -> ReloadResult:
        """Read, validate and apply the configuration file; never leaves a half-applied one."""
        if self.path is None:
            return self._refused("embedded demo", [("(file)", "the embedded demo has no "
                                                    "configuration file to reload")], origin)
        source = str(self.path)
        try:
            new = load_settings(self.path)
        except ConfigError as exc:
            return self._refused(source, exc.errors, origin)
        live, restart = changed_sections(self.settings, new)
        if not live and not restart:
            log.info("configuration reloaded: unchanged", extra={
                "event": "config_reload", "outcome": "unchanged", "origin": origin})
            return ReloadResult("unchanged", source)
        commits: list[Callable[[], None]] = []
        name = ""
        try:
            for name in live:
                applier = self.appliers.get(name)
                if applier is None:
                    restart.append(name)  # live in principle, but nothing here applies it
                    continue
                commits.append(applier(new))
        except ValueError as exc:
            return self._refused(source, [(name, str(exc))], origin)
        for commit in commits:
            commit()
        applied = [name for name in live if name not in restart]
        self.settings = new if not restart else _merge(self.settings, new, applied)
        self.on_applied(self.settings)
        if self.metrics is not None:
            self.metrics.config_reloads.labels("applied").inc()
        log.info("configuration reloaded: applied %s%s", ", ".join(applied) or "nothing",
                 f"; needs a restart: {', '.join(restart)}" if restart else "",
                 extra={"event": "config_reload", "outcome": "applied", "origin": origin,
                        "applied": applied, "restart_required": restart})
        return ReloadResult("applied", source, applied, restart)

    def _refused(self, source: str, errors: list[tuple[str, str]], origin: str
                 ) -> ReloadResult:
        if self.metrics is not None:
            self.metrics.config_reloads.labels("refused").inc()
        docs = [{"field": path, "message": message} for path, message in errors]
        log.error("configuration reload refused: %d error(s); the running configuration "
                  "stays", len(docs), extra={"event": "config_reload", "outcome": "refused",
                                             "origin": origin, "errors": docs})
        return ReloadResult("refused", source, errors=docs)


def _merge(old: Settings, new: Settings, applied: list[str]) -> Settings:
    """The running configuration: the old one with the applied sections (or fields) replaced."""
    sections: dict[str, Any] = {}
    for name in applied:
        section, _, field_name = name.partition(".")
        if not field_name:
            sections[section] = getattr(new, section)
            continue
        base = sections.get(section, getattr(old, section))
        if base is None:  # an absent section: its running default
            base = _ABSENT[section]()
        sections[section] = base.model_copy(
            update={field_name: getattr(getattr(new, section), field_name)})
    return old.model_copy(update=sections)
