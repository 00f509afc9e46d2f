"""The auth vocabulary: scopes, how a caller proved itself, and who the caller is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Scope = Literal[
    "inventory:read",
    "prices:read",
    "shipping:rate",
    "labels:write",
    "tracking:read",
    "admin",
]
ALL_SCOPES: tuple[Scope, ...] = get_args(Scope)
SCOPES: frozenset[str] = frozenset(ALL_SCOPES)

AuthMethod = Literal["api_key", "jwt", "external_jwt"]

# key of the Principal in scope["state"] (what request.state.principal reads)
PRINCIPAL_STATE_KEY = "principal"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller; immutable so one instance can serve every request of a client."""

    client_id: str
    scopes: frozenset[str]
    plan: str
    # API versions this caller may use; empty means all
    versions: frozenset[str]
    method: AuthMethod

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def allows_version(self, version: str) -> bool:
        return not self.versions or version in self.versions
