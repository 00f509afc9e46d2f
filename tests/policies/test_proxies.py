"""Trusted proxies: who the client is, from hostile and well-formed forwarding headers."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.types import Receive, Scope, Send

from policies.proxies import (
    MAX_HOPS,
    ProxyConfig,
    ProxyHeadersMiddleware,
    forwarded_hops,
    parse_address,
)

LB = "10.0.0.5"  # the load balancer in front
EDGE = "192.0.2.10"  # a second, outer proxy (TEST-NET-1)
CLIENT = "203.0.113.7"  # the storefront's real address (TEST-NET-3)


async def _seen(config: ProxyConfig, peer: tuple[str, int] | None,
                headers: list[tuple[str, str]], kind: str = "http",
                scheme: str = "http") -> tuple[Any, str]:
    """(client, scheme) as the app behind the middleware sees them."""
    seen: dict[str, Any] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.update(client=scope["client"], scheme=scope["scheme"])

    scope: dict[str, Any] = {
        "type": kind, "scheme": scheme, "client": peer, "path": "/",
        "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in headers],
    }

    async def receive() -> Any:
        raise AssertionError("not read")

    async def send(message: Any) -> None:
        raise AssertionError("not sent")

    await ProxyHeadersMiddleware(app, config)(scope, receive, send)
    return seen["client"], seen["scheme"]


XFF = ProxyConfig(trusted=["10.0.0.0/24", "2001:db8:1::/48"])
TWO_TIERS = ProxyConfig(trusted=["10.0.0.0/24", "192.0.2.10"])
RFC7239 = ProxyConfig(trusted=["10.0.0.0/24", "192.0.2.10"], header="forwarded")


async def test_a_trusted_proxy_names_the_client_and_scheme() -> None:
    seen = await _seen(XFF, (LB, 41000), [("X-Forwarded-For", CLIENT),
                                          ("X-Forwarded-Proto", "https")])
    assert seen == ((CLIENT, 0), "https")


async def test_headers_from_an_untrusted_peer_are_ignored() -> None:
    seen = await _seen(XFF, (CLIENT, 5000), [("X-Forwarded-For", "10.0.0.9"),
                                             ("X-Forwarded-Proto", "https"),
                                             ("Forwarded", "for=10.0.0.9;proto=https")])
    assert seen == ((CLIENT, 5000), "http")


async def test_no_trusted_networks_believes_nobody() -> None:
    seen = await _seen(ProxyConfig(), (LB, 1), [("X-Forwarded-For", CLIENT),
                                                ("X-Forwarded-Proto", "https")])
    assert seen == ((LB, 1), "http")


async def test_a_spoofed_left_most_address_is_not_the_client() -> None:
    # the client wrote "1.1.1.1, 10.0.0.7" itself; the balancer appended the real address
    seen = await _seen(XFF, (LB, 1), [("X-Forwarded-For", f"1.1.1.1, 10.0.0.7, {CLIENT}")])
    assert seen[0] == (CLIENT, 0)


async def test_a_chain_of_trusted_proxies_is_walked_to_the_first_untrusted_hop() -> None:
    seen = await _seen(TWO_TIERS, (LB, 1), [("X-Forwarded-For", f"9.9.9.9, {CLIENT}, {EDGE}"),
                                            ("X-Forwarded-Proto", "https")])
    assert seen == ((CLIENT, 0), "https")


async def test_a_proxy_outside_the_trusted_list_ends_the_chain() -> None:
    # the outer proxy is not trusted by XFF: it is the client, whatever it claims
    seen = await _seen(XFF, (LB, 1), [("X-Forwarded-For", f"{CLIENT}, {EDGE}")])
    assert seen[0] == (EDGE, 0)


async def test_repeated_header_lines_are_one_list_in_order() -> None:
    # HAProxy's `option forwardfor` adds its own line after the client's
    seen = await _seen(TWO_TIERS, (LB, 1), [("X-Forwarded-For", "6.6.6.6"),
                                            ("X-Forwarded-For", f"{CLIENT}, {EDGE}")])
    assert seen[0] == (CLIENT, 0)


async def test_only_trusted_hops_means_the_left_most_of_them() -> None:
    seen = await _seen(TWO_TIERS, (LB, 1), [("X-Forwarded-For", f"10.0.0.8, {EDGE}")])
    assert seen[0] == ("10.0.0.8", 0)


@pytest.mark.parametrize("value", [
    "not-an-ip", "unknown", "", " , ", "999.1.1.1", "203.0.113.7:99999", "[2001:db8::1",
    "fe80::1%eth0", "203.0.113.7/32", "\u00e9",
])
async def test_a_malformed_right_most_value_keeps_the_peer(value: str) -> None:
    seen = await _seen(XFF, (LB, 1), [("X-Forwarded-For", value),
                                      ("X-Forwarded-Proto", "https")])
    assert seen == ((LB, 1), "http")


async def test_a_malformed_value_inside_the_chain_stops_at_the_proxy_that_passed_it() -> None:
    # the outer proxy passed garbage on: it is the last hop anyone vouches for
    seen = await _seen(TWO_TIERS, (LB, 1), [("X-Forwarded-For", f"{CLIENT}, junk, {EDGE}")])
    assert seen[0] == (EDGE, 0)


async def test_an_unknown_scheme_is_not_taken() -> None:
    seen = await _seen(XFF, (LB, 1), [("X-Forwarded-For", CLIENT),
                                      ("X-Forwarded-Proto", "gopher")])
    assert seen == ((CLIENT, 0), "http")


async def test_aligned_protos_give_the_clients_own_hop_scheme() -> None:
    seen = await _seen(TWO_TIERS, (LB, 1), [("X-Forwarded-For", f"{CLIENT}, {EDGE}"),
                                            ("X-Forwarded-Proto", "http, https")])
    assert seen == ((CLIENT, 0), "http")


async def test_an_overlong_chain_is_not_walked() -> None:
    chain = ", ".join([CLIENT] * (MAX_HOPS + 1))
    seen = await _seen(XFF, (LB, 1), [("X-Forwarded-For", chain)])
    assert seen[0] == (LB, 1)


async def test_ipv6_peer_and_client() -> None:
    seen = await _seen(XFF, ("2001:db8:1::5", 1), [("X-Forwarded-For", "2001:db8:ffff::7"),
                                                   ("X-Forwarded-Proto", "HTTPS")])
    assert seen == (("2001:db8:ffff::7", 0), "https")


async def test_an_ipv4_mapped_peer_matches_its_ipv4_network() -> None:
    seen = await _seen(XFF, ("::ffff:10.0.0.5", 1), [("X-Forwarded-For", CLIENT)])
    assert seen[0] == (CLIENT, 0)


async def test_an_ipv4_mapped_forwarded_address_is_checked_as_ipv4() -> None:
    # a trusted address in disguise is still trusted; the hop to its left is the client
    seen = await _seen(XFF, (LB, 1), [("X-Forwarded-For", f"{CLIENT}, ::ffff:10.0.0.9")])
    assert seen[0] == (CLIENT, 0)


async def test_no_peer_address_unix_socket_is_left_alone() -> None:
    seen = await _seen(XFF, None, [("X-Forwarded-For", CLIENT)])
    assert seen == (None, "http")


async def test_websocket_scheme_becomes_wss() -> None:
    seen = await _seen(XFF, (LB, 1), [("X-Forwarded-For", CLIENT),
                                      ("X-Forwarded-Proto", "https")], kind="websocket",
                       scheme="ws")
    assert seen == ((CLIENT, 0), "wss")


async def test_the_configured_header_only() -> None:
    # behind an X-Forwarded-For proxy, a client-sent Forwarded header is not read
    seen = await _seen(XFF, (LB, 1), [("Forwarded", "for=10.0.0.9;proto=https"),
                                      ("X-Forwarded-For", CLIENT)])
    assert seen == ((CLIENT, 0), "http")
    seen = await _seen(RFC7239, (LB, 1), [("X-Forwarded-For", "10.0.0.9"),
                                          ("X-Forwarded-Proto", "https")])
    assert seen == ((LB, 1), "http")


async def test_rfc7239_examples() -> None:
    # RFC 7239 section 4 and 7.1 examples
    seen = await _seen(RFC7239, (LB, 1), [
        ("Forwarded", f'for={CLIENT};proto=https;by=203.0.113.43, for="[2001:db8:cafe::17]:4711"'),
    ])
    assert seen == (("2001:db8:cafe::17", 4711), "http")  # that proxy is not trusted
    seen = await _seen(RFC7239, (LB, 1), [
        ("Forwarded", f'for={CLIENT};proto=https, for={EDGE};proto=https'),
    ])
    assert seen == ((CLIENT, 0), "https")


async def test_rfc7239_unknown_and_obfuscated_stop_the_walk() -> None:
    for value in ("for=unknown", "for=_hidden", 'for="_gazonk"'):
        seen = await _seen(RFC7239, (LB, 1), [("Forwarded", f"{value}, for={EDGE};proto=https")])
        assert seen == ((EDGE, 0), "https"), value


@pytest.mark.parametrize("value", [
    'for="203.0.113.7', "for=203.0.113.7;for=1.1.1.1", "for", 'proto=https', "=x",
    'for="[2001:db8::1]:80"x', "for=203.0.113.7;proto",
])
async def test_rfc7239_malformed_elements_keep_the_peer(value: str) -> None:
    seen = await _seen(RFC7239, (LB, 1), [("Forwarded", value)])
    assert seen == ((LB, 1), "http")


def test_parse_address_forms() -> None:
    v6 = ipaddress.ip_address("2001:db8::1")
    assert parse_address("203.0.113.7:8080") == (ipaddress.ip_address(CLIENT), 8080)
    assert parse_address("[2001:db8::1]:443") == (v6, 443)
    assert parse_address("[2001:db8::1]") == (v6, 0)
    assert parse_address("2001:db8::1") == (v6, 0)
    assert parse_address("[2001:db8::1]:0") == (None, 0)
    assert parse_address("[2001:db8::1]x") == (None, 0)


def test_forwarded_quoted_values_unescape() -> None:
    hops = forwarded_hops([b'for="\\[2001:db8::1\\]";proto="https"'])
    assert hops is not None and str(hops[0].address) == "2001:db8::1"
    assert hops[0].proto == "https"


def test_config_refuses_what_is_not_a_network() -> None:
    with pytest.raises(ValidationError, match="not an address or CIDR"):
        ProxyConfig(trusted=["10.0.0.0/33"])
    with pytest.raises(ValidationError, match="has host bits set"):
        ProxyConfig(trusted=["10.0.0.5/24"])
    with pytest.raises(ValidationError, match="not an address or CIDR"):
        ProxyConfig(trusted=["lb.internal"])
