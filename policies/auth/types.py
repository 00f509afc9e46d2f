"""The auth vocabulary: scopes, how a caller proved itself, and who the caller is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args
from urllib.parse import quote

ScopeName = Literal[
    "inventory:read",
    "prices:read",
    "shipping:rate",
    "labels:write",
    "tracking:read",
    "orders:read",
    "orders:write",
    "admin",
]
ALL_SCOPES: tuple[ScopeName, ...] = get_args(ScopeName)
SCOPES: frozenset[str] = frozenset(ALL_SCOPES)

AuthMethod = Literal["api_key", "jwt", "external_jwt"]

# key of the Principal in scope["state"] (what request.state.principal reads)
PRINCIPAL_STATE_KEY = "principal"


def principal_key(client_id: str, issuer: str | None) -> str:
    """The caller's identity for keying state: our own client ids as they are; an external
    caller as ``ext:<issuer>:<id>``, both percent-encoded, so it can equal no client id (ours
    never contain ``:``) nor another issuer's caller."""
    if issuer is None:
        return client_id
    return f"ext:{quote(issuer, safe='')}:{quote(client_id, safe='')}"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller; immutable so one instance can serve every request of a client.

    ``client_id`` is what the caller is called (for logs and responses); ``key`` is what
    every piece of per-caller state (rate-limit counters, label records, ownership) is keyed
    by, qualified by the issuer for external tokens.
    """

    client_id: str
    scopes: frozenset[str]
    plan: str
    # API versions this caller may use; empty means all
    versions: frozenset[str]
    method: AuthMethod
    # the external issuer that vouched for the caller; None for our own clients and keys
    issuer: str | None = None
    # warehouses this caller may ship from; None means every warehouse
    warehouses: frozenset[str] | None = None
    key: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", principal_key(self.client_id, self.issuer))

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def allows_version(self, version: str) -> bool:
        return not self.versions or version in self.versions
