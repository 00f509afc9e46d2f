"""API versions in the path (``/{version}/...``): lifecycle headers and refusals.

For a path whose first segment looks like a version (``version_pattern``):

- unknown version: 404 ``not-found`` listing the known versions;
- past its ``sunset``: 410 ``gone`` naming the successor (also as a ``Link``);
- a principal restricted to other versions (non-empty ``principal.versions``): 403;
- deprecated: ``Deprecation: @<unix seconds>`` (RFC 9745), ``Sunset: <HTTP-date>``
  (RFC 8594), ``Link: <successor>; rel="successor-version"`` and, when configured, a
  ``rel="deprecation"`` link to the migration docs, added to whatever the app answers.

Other paths pass through. The version name is left in ``scope["state"]["api_version"]``.
``VersionGate`` is the policy as a gate (``policies.chain``); ``VersioningMiddleware`` runs
it alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from starlette.types import ASGIApp, Scope

from policies.chain import Headers, PolicyChain
from policies.problems import Forbidden, Gone, NotFound

__all__ = [
    "DEFAULT_VERSION_PATTERN",
    "VersionConfig",
    "VersionGate",
    "VersionedPrincipal",
    "VersioningConfig",
    "VersioningMiddleware",
    "deprecation_value",
    "http_date",
]

DEFAULT_VERSION_PATTERN = r"v[0-9]+(?:[a-z][a-z0-9]*)?"


class VersionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
    status: Literal["current", "deprecated"] = "current"
    deprecated_at: AwareDatetime | None = None
    sunset: AwareDatetime | None = None
    successor: str | None = Field(default=None, pattern=r"^/\S*$")
    docs: str | None = Field(default=None, pattern=r"^(https?://|/)\S+$")

    @model_validator(mode="after")
    def _lifecycle(self) -> VersionConfig:
        if self.status == "deprecated" and self.deprecated_at is None:
            raise ValueError(f"version {self.name!r} is deprecated but has no deprecated_at")
        if self.status == "current" and (self.deprecated_at or self.sunset):
            raise ValueError(
                f"version {self.name!r} is current: deprecated_at and sunset need "
                "status = \"deprecated\""
            )
        if self.sunset and self.deprecated_at and self.sunset < self.deprecated_at:
            raise ValueError(f"version {self.name!r} has its sunset before its deprecation")
        return self


class VersioningConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    versions: list[VersionConfig] = Field(min_length=1)
    version_pattern: str = DEFAULT_VERSION_PATTERN

    @model_validator(mode="after")
    def _consistent(self) -> VersioningConfig:
        names = [v.name for v in self.versions]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate versions: {', '.join(duplicates)}")
        pattern = re.compile(self.version_pattern)
        for version in self.versions:
            if not pattern.fullmatch(version.name):
                raise ValueError(
                    f"version {version.name!r} does not match version_pattern "
                    f"{self.version_pattern!r}"
                )
            if version.successor:
                first = version.successor.split("/")[1]
                if pattern.fullmatch(first) and first not in names:
                    raise ValueError(
                        f"version {version.name!r} names unknown successor {first!r}; "
                        f"known: {', '.join(names)}"
                    )
        return self


class VersionedPrincipal(Protocol):
    """What this middleware reads of ``scope["state"]["principal"]``: empty = every version."""

    @property
    def versions(self) -> Collection[str]: ...


def deprecation_value(when: datetime) -> str:
    """RFC 9745: a structured-field Date, ``@`` and integer seconds since the epoch."""
    return f"@{int(when.timestamp())}"


def http_date(when: datetime) -> str:
    """RFC 9110 IMF-fixdate, as RFC 8594's Sunset wants it."""
    return format_datetime(when.astimezone(UTC), usegmt=True)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Version:
    config: VersionConfig
    headers: tuple[tuple[bytes, bytes], ...]
    gone_headers: dict[str, str]


def _compile(version: VersionConfig) -> _Version:
    headers: list[tuple[bytes, bytes]] = []
    gone: dict[str, str] = {}
    if version.status == "deprecated" and version.deprecated_at is not None:
        headers.append((b"deprecation", deprecation_value(version.deprecated_at).encode()))
    if version.sunset is not None:
        headers.append((b"sunset", http_date(version.sunset).encode()))
        gone["Sunset"] = http_date(version.sunset)
    links = []
    if version.successor:
        links.append(f'<{version.successor}>; rel="successor-version"')
    if version.docs and version.status == "deprecated":
        links.append(f'<{version.docs}>; rel="deprecation"; type="text/html"')
    if version.status == "deprecated":
        headers.extend((b"link", link.encode()) for link in links)
    if links:
        gone["Link"] = ", ".join(links)
    return _Version(version, tuple(headers), gone)


class VersionGate:
    """The versioning policy as a gate (see ``policies.chain``); runs after auth so that a
    principal's version restriction can apply."""

    name = "version"

    def __init__(self, config: VersioningConfig, *,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.config = config
        self._clock = clock
        self._pattern = re.compile(config.version_pattern)
        self._versions = {v.name: _compile(v) for v in config.versions}
        self._known = [v.name for v in config.versions]

    def reconfigure(self, config: VersioningConfig) -> None:
        """Apply a new versions table (a config reload) from the next request on."""
        self.__init__(config, clock=self._clock)  # type: ignore[misc]

    async def __call__(self, scope: Scope, state: dict[str, Any]) -> Headers:
        if scope["type"] != "http":
            return ()
        name = self._version_segment(scope)
        if name is None:
            return ()
        version = self._versions.get(name)
        if version is None:
            raise NotFound(
                f"Unknown API version {name!r}; known versions: {', '.join(self._known)}.",
                extensions={"known_versions": self._known},
            )
        sunset = version.config.sunset
        if sunset is not None and self._clock() >= sunset:
            raise self._gone(version, sunset)
        allowed: Collection[str] = getattr(state.get("principal"), "versions", None) or ()
        if allowed and name not in allowed:
            raise Forbidden(
                f"This client may call API versions {', '.join(sorted(allowed))}, not {name}.",
                extensions={"allowed_versions": sorted(allowed)},
            )
        state["api_version"] = name
        return version.headers

    def _version_segment(self, scope: Scope) -> str | None:
        path: str = scope["path"]
        root = scope.get("root_path")
        if root and path.startswith(root):
            path = path[len(root):]
        if path[:1] != "/":
            return None
        end = path.find("/", 1)
        first = path[1:end] if end > 0 else path[1:]
        if first in self._versions:  # configured names match the pattern (validated)
            return first
        return first if first and self._pattern.fullmatch(first) else None

    def _gone(self, version: _Version, sunset: datetime) -> Gone:
        config = version.config
        detail = f"API version {config.name} was retired on {http_date(sunset)}"
        detail += f"; use {config.successor} instead." if config.successor else "."
        extensions: dict[str, Any] = {"sunset": sunset.isoformat()}
        if config.successor:
            extensions["successor"] = config.successor
        return Gone(detail, headers=version.gone_headers, extensions=extensions)


class VersioningMiddleware(PolicyChain):
    """``VersionGate`` alone, as pure ASGI middleware."""

    def __init__(self, app: ASGIApp, config: VersioningConfig, *,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.gate = VersionGate(config, clock=clock)
        self.config = config
        super().__init__(app, [self.gate])
