"""Trusted proxies: believe ``X-Forwarded-For`` / ``X-Forwarded-Proto`` or RFC 7239
``Forwarded`` from the load balancers the config names, and from nobody else.

``ProxyHeadersMiddleware`` rewrites ``scope["client"]`` and ``scope["scheme"]`` in place
(the server's access log reads the same dict), before any gate runs, so per-address
limits, logs and the token endpoint's https check see the real client and scheme.

Which address is the client: the chain is read from the right, starting at the peer that
connected to us. As long as the hop is a trusted proxy, the address it reports for its own
peer is believed and the walk goes on; the first address that is not a trusted proxy is the
client. The left-most address is never taken on trust: anyone can write it. A value that is
not an address (garbage, ``unknown``, an obfuscated ``_node``) ends the walk, and the client
is the last trusted hop that passed it on. A peer outside the trusted networks gets none of
its forwarding headers believed.

Only the header the proxies write is read (``header = "x-forwarded-for"`` or
``"forwarded"``): reading both would believe whichever of them a proxy passes through
untouched from the client.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["Hop", "ProxyConfig", "ProxyHeadersMiddleware", "TrustedProxies", "forwarded_hops",
           "parse_address", "x_forwarded_hops"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# a chain longer than this is refused as a whole (the peer alone counts): no proxy fleet
# is 32 deep, and walking an attacker's 10,000-entry header costs every request
MAX_HOPS = 32
_SCHEMES = {"http": ("http", "ws"), "https": ("https", "wss")}


class ProxyConfig(BaseModel):
    """``[proxies]``: which peers' forwarding headers are believed."""

    model_config = ConfigDict(extra="forbid")

    # addresses or CIDR networks of the load balancers in front ("10.0.0.0/8", "fd00::/8");
    # empty: forwarding headers are never believed
    trusted: list[str] = []
    # the header those proxies write: X-Forwarded-For (+ X-Forwarded-Proto) or RFC 7239
    header: Literal["x-forwarded-for", "forwarded"] = "x-forwarded-for"

    @field_validator("trusted")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=True)
            except ValueError as exc:
                raise ValueError(f"{entry!r} is not an address or CIDR network: {exc}") from None
        return value

    def networks(self) -> tuple[IPNetwork, ...]:
        return tuple(ipaddress.ip_network(entry) for entry in self.trusted)


@dataclass(frozen=True, slots=True)
class Hop:
    """One hop of a forwarding chain: an address (or ``None`` when unusable) and the scheme
    the proxy that recorded it saw (``None`` when it did not say)."""

    address: IPAddress | None
    port: int = 0
    proto: str | None = None


def parse_address(text: str) -> tuple[IPAddress | None, int]:
    """An address as proxies write it: ``1.2.3.4``, ``1.2.3.4:80``, ``2001:db8::1``,
    ``[2001:db8::1]``, ``[2001:db8::1]:443``; ``(None, 0)`` when it is none of these."""
    text = text.strip()
    port = 0
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return None, 0
        if rest:
            if not rest[1:].isdigit() or not 0 < int(rest[1:]) < 65536:
                return None, 0
            port = int(rest[1:])
        text = host
    elif text.count(":") == 1:  # IPv4 with a port; a bare IPv6 address has several colons
        text, _, port_text = text.partition(":")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            return None, 0
        port = int(port_text)
    if "%" in text:  # a zone id names an interface of the proxy, not a client
        return None, 0
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None, 0
    return _unmapped(address), port


def _unmapped(address: IPAddress) -> IPAddress:
    # an IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _joined(headers: list[bytes]) -> list[str] | None:
    """Comma-separated members of every line of one header, in order; ``None`` if not ASCII
    or too many."""
    try:
        members = [m for line in headers for m in line.decode("ascii").split(",")]
    except UnicodeDecodeError:
        return None
    return members if len(members) <= MAX_HOPS else None


def x_forwarded_hops(forwarded_for: list[bytes], forwarded_proto: list[bytes]) -> list[Hop] | None:
    """Hops from ``X-Forwarded-For`` (left to right) with ``X-Forwarded-Proto``.

    Proxies that append to both keep them aligned, one member per hop; a proxy that sets a
    single ``X-Forwarded-Proto`` says what the hop next to us saw, so a lone value belongs
    to the right-most hop.
    """
    members = _joined(forwarded_for)
    protos = _joined(forwarded_proto) if forwarded_proto else []
    if not members or protos is None:
        return None
    hops = [Hop(*parse_address(member)) for member in members]
    proto_of = [p.strip().lower() for p in protos]
    if len(proto_of) == len(hops):
        return [Hop(h.address, h.port, p) for h, p in zip(hops, proto_of, strict=True)]
    if len(proto_of) == 1:
        last = hops[-1]
        hops[-1] = Hop(last.address, last.port, proto_of[0])
    return hops


def _unquote(value: str) -> str | None:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1]
        out, escaped = [], False
        for char in inner:
            if escaped:
                out.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                return None
            else:
                out.append(char)
        return None if escaped else "".join(out)
    return None if '"' in value else value


def forwarded_hops(lines: list[bytes]) -> list[Hop] | None:
    """Hops from RFC 7239 ``Forwarded`` elements (left to right); an element without a
    usable ``for`` is a hop with no address. Quoted commas are not split on: no valid
    ``for``, ``proto`` or ``by`` value contains one."""
    elements = _joined(lines)
    if not elements:
        return None
    hops: list[Hop] = []
    for element in elements:
        params: dict[str, str] = {}
        valid = True
        for pair in element.split(";"):
            name, sep, raw = pair.strip().partition("=")
            value = _unquote(raw.strip()) if sep else None
            key = name.strip().lower()
            if value is None or not key or key in params:
                valid = False  # malformed or repeated parameter: the element says nothing
                break
            params[key] = value
        if not valid or "for" not in params:
            hops.append(Hop(None))
            continue
        address, port = parse_address(params["for"])
        hops.append(Hop(address, port, params["proto"].lower() if "proto" in params else None))
    return hops


class TrustedProxies:
    """Decides who the client is, given the peer and its forwarding headers."""

    def __init__(self, config: ProxyConfig) -> None:
        self.networks = config.networks()
        self.header = config.header

    def trusts(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)

    def resolve(self, peer: IPAddress, hops: list[Hop]) -> Hop | None:
        """The client hop, or ``None`` when the peer is not trusted or the chain names no
        usable address (the peer then stays the client).

        Its ``proto`` is the scheme reported for it, else the nearest one a trusted hop on
        its right reported: what the proxies closest to the client saw.
        """
        if not self.trusts(peer):
            return None
        chosen: Hop | None = None
        proto: str | None = None
        for hop in reversed(hops):
            if hop.address is None:
                break  # unusable value: the last trusted hop that passed it on is the client
            proto = hop.proto or proto
            chosen = hop
            if not self.trusts(hop.address):
                break
        return None if chosen is None else Hop(chosen.address, chosen.port, proto)


class ProxyHeadersMiddleware:
    """Rewrites ``scope["client"]`` and ``scope["scheme"]`` from a trusted proxy's headers."""

    def __init__(self, app: ASGIApp, config: ProxyConfig) -> None:
        self.app = app
        self.proxies = TrustedProxies(config)
        self.forwarded = config.header == "forwarded"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            self._rewrite(scope)
        await self.app(scope, receive, send)

    def _rewrite(self, scope: Scope) -> None:
        client = scope.get("client")
        if not client:
            return
        peer, _ = parse_address(str(client[0]))
        if peer is None or not self.proxies.trusts(peer):
            return
        wanted: dict[bytes, list[bytes]] = (
            {b"forwarded": []} if self.forwarded
            else {b"x-forwarded-for": [], b"x-forwarded-proto": []})
        for name, value in scope["headers"]:
            if name in wanted:
                wanted[name].append(value)
        hops = (forwarded_hops(wanted[b"forwarded"]) if self.forwarded
                else x_forwarded_hops(wanted[b"x-forwarded-for"], wanted[b"x-forwarded-proto"]))
        if not hops:
            return
        hop = self.proxies.resolve(peer, hops)
        if hop is None or hop.address is None:
            return
        scope["client"] = (str(hop.address), hop.port)
        schemes = _SCHEMES.get(hop.proto or "")
        if schemes is not None:
            scope["scheme"] = schemes[0] if scope["type"] == "http" else schemes[1]

