"""Whose order it is: the one place that turns a caller into an order owner."""

from __future__ import annotations

from policies.auth import Principal


def owner_key(principal: Principal) -> str:
    """The owner of the orders ``principal`` places (kept with each order in the ERP): its
    issuer-qualified key, so an external issuer's client never shares our client's orders."""
    return principal.key
